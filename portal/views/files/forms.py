"""The input of the file pages: paths, names and cursors checked by the store's own rules."""

from __future__ import annotations

from typing import Any

from django import forms

from snapshots import selectors
from snapshots.errors import StoreError
from snapshots.paths import join_path, split_path, validate_name
from snapshots.services import OnConflict

# The longest path split_path accepts: 256 names of 255 bytes and their slashes.
MAX_PATH_CHARS = 256 * 256
MAX_CURSOR_CHARS = 2048
MAX_BIGINT = 2**63 - 1


class PathField(forms.CharField):
    """An absolute path as the store understands it, checked by the store's own rules."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_PATH_CHARS)
        super().__init__(strip=False, **kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return value
        try:
            return join_path(split_path(value))
        except StoreError as error:
            raise forms.ValidationError(error.detail) from error


class NameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        # 255 UTF-8 bytes is at most 255 characters; validate_name checks the bytes.
        super().__init__(max_length=255, **kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        try:
            return validate_name(value)
        except StoreError as error:
            raise forms.ValidationError(error.detail) from error


class CursorField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_CURSOR_CHARS, required=False, **kwargs)


class ListingQueryForm(forms.Form):
    path = PathField(required=False)
    order = forms.ChoiceField(choices=[(key, key) for key in selectors.LISTING_ORDERS], required=False)
    cursor = CursorField()


class ItemForm(forms.Form):
    path = PathField()


class UploadForm(ItemForm):
    """The query of a page upload: where, and what to do with a taken name
    (the page asks the person first; see upload_conflicts)."""

    on_conflict = forms.ChoiceField(choices=[(choice.value, choice.value) for choice in OnConflict], required=False)

    def clean_on_conflict(self) -> OnConflict:
        return OnConflict(self.cleaned_data["on_conflict"] or OnConflict.REPLACE)


class UploadConflictsForm(forms.Form):
    """The names a page is about to upload into ``folder``."""

    folder = PathField()

    def __init__(self, data: Any, names: list[str]) -> None:
        super().__init__(data)
        self.names = names

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not 1 <= len(self.names) <= MAX_UPLOAD_CHECK_NAMES:
            raise forms.ValidationError(f"Check between 1 and {MAX_UPLOAD_CHECK_NAMES:,} names at a time.")
        return cleaned


# A drop of a few thousand files is checked in one request; more is checked in several.
MAX_UPLOAD_CHECK_NAMES = 5000


class NewFolderForm(forms.Form):
    parent = PathField()
    name = NameField(error_messages={"required": "Give the new folder a name."})


class RenameForm(forms.Form):
    path = PathField()
    new_name = NameField(error_messages={"required": "Give the new name."})


class MoveForm(forms.Form):
    path = PathField()
    destination = PathField(error_messages={"required": "Choose the folder to move it to."})


class MovePickerForm(forms.Form):
    path = PathField()
    to = PathField(required=False)
    cursor = CursorField()


class TrashQueryForm(forms.Form):
    q = forms.CharField(max_length=255, required=False)
    cursor = CursorField()


class RestoreForm(forms.Form):
    version_id = forms.IntegerField(min_value=1, max_value=MAX_BIGINT)
    q = forms.CharField(max_length=255, required=False)


class CursorQueryForm(forms.Form):
    cursor = CursorField()


def form_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{field.replace('_', ' ').capitalize()}: "
        return f"{label}{errors[0]}"
    return "That request was not valid."


class BulkForm(forms.Form):
    """Several items of one folder, ticked on the files page (``pick``), or all
    of the folder's items (``all_in_folder``), and what to do with them."""

    ACTIONS = [("zip", "Download as zip"), ("move", "Move"), ("delete", "Delete")]

    action = forms.ChoiceField(choices=ACTIONS)
    folder = PathField()
    all_in_folder = forms.BooleanField(required=False)
    to = PathField(required=False)
    confirm = forms.BooleanField(required=False)

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.picked = data.getlist("pick") if data is not None else []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        paths = []
        for value in self.picked:
            try:
                paths.append(join_path(split_path(value)))
            except StoreError as exc:
                raise forms.ValidationError(exc.detail) from exc
        if not paths and not cleaned.get("all_in_folder"):
            raise forms.ValidationError("Tick at least one item first.")
        cleaned["paths"] = list(dict.fromkeys(paths))
        return cleaned


class TrashBulkForm(forms.Form):
    """Items of Recently deleted ticked on its page (``pick``: version ids), or
    every item the page's filter matches (``all_matching``)."""

    q = forms.CharField(max_length=255, required=False)
    all_matching = forms.BooleanField(required=False)

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.picked = data.getlist("pick") if data is not None else []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        ids = []
        for value in self.picked:
            if not value.isdigit() or not 1 <= int(value) <= MAX_BIGINT:
                raise forms.ValidationError("That selection is not valid; reload the page and tick the items again.")
            ids.append(int(value))
        if not ids and not cleaned.get("all_matching"):
            raise forms.ValidationError("Tick at least one item first.")
        cleaned["ids"] = list(dict.fromkeys(ids))
        return cleaned
