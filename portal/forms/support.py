"""The forms of the support admin's tenant data pages (portal.admin.tenant_data):
a restore on the customer's behalf, browsing a snapshot or a moment to pick what
to restore, and a purge from all history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from hubs.display import bytes_label, time_label
from snapshots.models import RestoreJob, Snapshot
from snapshots.services import RestoreRequest


class SupportRestoreForm(forms.Form):
    SOURCE_SNAPSHOT = "snapshot"
    SOURCE_MOMENT = "moment"
    TARGET_ORIGINAL = "original"
    TARGET_FOLDER = "folder"

    source = forms.ChoiceField(
        label="Restore from",
        choices=[(SOURCE_SNAPSHOT, "A snapshot"), (SOURCE_MOMENT, "A moment in time")],
        widget=forms.RadioSelect,
        initial=SOURCE_SNAPSHOT,
    )
    snapshot = forms.IntegerField(label="Snapshot", required=False, widget=forms.Select)
    at = forms.DateTimeField(
        label="Moment",
        required=False,
        help_text="UTC unless an offset is given, e.g. 2026-11-24 10:42 or 2026-11-24T10:42+10:00.",
        widget=forms.TextInput(attrs={"placeholder": "2026-11-24 10:42", "size": 30}),
    )
    paths = forms.CharField(
        label="Paths",
        required=False,
        help_text="One path per line, e.g. /Projects/plan.txt. Leave empty to restore everything.",
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
    )
    target_kind = forms.ChoiceField(
        label="Restore to",
        choices=[(TARGET_ORIGINAL, "The original location"), (TARGET_FOLDER, "A folder")],
        widget=forms.RadioSelect,
        initial=TARGET_ORIGINAL,
    )
    target_folder = forms.CharField(
        label="Folder",
        required=False,
        help_text="Made if it does not exist, e.g. /Recovered.",
        widget=forms.TextInput(attrs={"size": 50}),
    )
    conflict = forms.CharField(
        label="When a name is taken",
        widget=forms.RadioSelect(choices=RestoreJob.Conflict.choices),
        initial=RestoreJob.Conflict.RENAME,
    )
    mode = forms.ChoiceField(
        label="How",
        choices=RestoreJob.Mode.choices,
        initial=RestoreJob.Mode.MERGE,
        required=False,
        widget=forms.RadioSelect,
        help_text="Exactly as it was: a folder or everything becomes what it was; what was made since moves to "
        "Recently deleted (the pre-restore snapshot undoes it). Restores to the original location only.",
    )

    def __init__(self, *args: Any, snapshots: list[Snapshot], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The choices only show the snapshots; the restore service decides which one may be used.
        self.fields["snapshot"].widget.choices = [("", "Choose a snapshot")] + [
            (snapshot.pk, snapshot_choice_label(snapshot)) for snapshot in snapshots
        ]

    def restore_request(self) -> RestoreRequest:
        """The request as filled in; the restore service judges it."""
        cleaned = self.cleaned_data
        by_snapshot = cleaned["source"] == self.SOURCE_SNAPSHOT
        return RestoreRequest(
            snapshot_id=cleaned["snapshot"] if by_snapshot else None,
            at=None if by_snapshot else cleaned["at"],
            paths=tuple(line.strip() for line in cleaned["paths"].splitlines() if line.strip()),
            target=cleaned["target_folder"].strip() if cleaned["target_kind"] == self.TARGET_FOLDER else None,
            conflict=cleaned["conflict"],
            mode=cleaned.get("mode") or RestoreJob.Mode.MERGE,
        )


def snapshot_choice_label(snapshot: Snapshot) -> str:
    label = f" “{snapshot.label}”" if snapshot.label else ""
    return (
        f"{time_label(snapshot.taken_at, 'Y-m-d H:i')} · {snapshot.get_kind_display()}{label} · "
        f"{snapshot.file_count} files, {bytes_label(snapshot.byte_count)}"
    )


class SupportBrowseForm(forms.Form):
    """Which folder of which snapshot or moment support lists."""

    snapshot = forms.IntegerField(required=False, min_value=1)
    at = forms.DateTimeField(required=False)
    path = forms.CharField(required=False, max_length=65536, strip=False)
    cursor = forms.CharField(required=False, max_length=2048)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (cleaned.get("snapshot") is None) == (cleaned.get("at") is None):
            raise forms.ValidationError("Choose either a snapshot or a moment to browse.")
        return cleaned


# A restore of more items than this is a restore of their folder.
MAX_PICKED_PATHS = 1000


class SupportPurgeForm(forms.Form):
    path = forms.CharField(
        label="Path",
        help_text="The file or folder to purge, e.g. /Secret/passwords.txt. A deleted item is found too.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    reason = forms.CharField(
        label="Reason",
        help_text="Required. Kept with the purge record in the tenant's hub (the staff audit log "
        "points to that record and holds no file names).",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    confirm = forms.BooleanField(
        label="I understand this cannot be undone",
        help_text="Every version of the item and of what it holds, and their bytes in both facilities, "
        "are removed at once. No snapshot or restore can bring them back.",
        error_messages={"required": "Tick the box to confirm that the purge cannot be undone."},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A purge needs a written reason.")
        return reason


def with_picked_paths(data: QueryDict) -> QueryDict:
    """The restore form's data, with the rows ticked on the browse page (``pick``) as its paths."""
    picked = data.getlist("pick")
    if not picked:
        return data
    data = data.copy()
    data["paths"] = "\n".join(picked[:MAX_PICKED_PATHS])
    return data
