"""What the history pages share: where a page reads from (a snapshot or a moment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from hubs.display import zone_label
from hubs.errors import DomainError
from hubs.models import Tenant
from portal.views.files.access import request_tenant
from portal.views.files.forms import MAX_BIGINT, form_error
from portal.views.refusals import refusal_page
from snapshots.models import Snapshot
from snapshots.selectors.history import snapshot_get
from snapshots.services import restore_source

# SECTION: where a page reads from: a snapshot or a moment


class SourceForm(forms.Form):
    """A snapshot id, or a moment; a moment without an offset is in the
    person's zone (Django reads it in the active zone, portal.middleware.time_zone,
    and refuses one a clock change skips or repeats)."""

    snapshot = forms.IntegerField(min_value=1, max_value=MAX_BIGINT, required=False)
    at = forms.DateTimeField(
        required=False,
        error_messages={"invalid": "Enter the date and time as shown, e.g. 2026-11-24 10:42."},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # BaseForm.clean returns cleaned_data
        if not self.errors and (cleaned.get("snapshot") is None) == (cleaned.get("at") is None):
            raise forms.ValidationError("Choose a snapshot or a moment to look at.")
        return cleaned


@dataclass(frozen=True)
class Source:
    seq: int
    at: datetime
    snapshot: Snapshot | None

    @property
    def query(self) -> dict[str, str]:
        """How URLs name this source: a snapshot by id, a moment with its offset."""
        if self.snapshot is not None:
            return {"snapshot": str(self.snapshot.pk)}
        return {"at": timezone.localtime(self.at).isoformat(timespec="seconds")}


def source_get(*, tenant: Tenant, snapshot_id: int | None, at: datetime | None) -> Source:
    """A snapshot still in the retention (else NotFound), or a moment the
    restore service accepts (else its own refusal)."""
    if snapshot_id is not None:
        snapshot = snapshot_get(tenant=tenant, snapshot_id=snapshot_id)
        return Source(seq=snapshot.seq, at=snapshot.taken_at, snapshot=snapshot)
    moment = restore_source(tenant=tenant, at=at)
    return Source(seq=moment.seq, at=moment.at, snapshot=None)


def source_url(url_name: str, *, source: Source | None = None, **query: Any) -> str:
    params: list[tuple[str, str]] = list(source.query.items()) if source else []
    for key, value in query.items():
        if isinstance(value, list | tuple):
            params.extend((key, str(item)) for item in value)
        elif value not in (None, ""):
            params.append((key, str(value)))
    url = reverse(url_name)
    return f"{url}?{urlencode(params)}" if params else url


def source_context(source: Source) -> dict[str, Any]:
    return {
        "source": source,
        "source_zone": zone_label(source.at),
        "source_query": source.query,
        "source_kind": source.snapshot.get_kind_display() if source.snapshot else "",
    }


def source_or_response(request: HttpRequest, form: SourceForm) -> Source | HttpResponse:
    """The page's source, or the response that explains why there is none: a
    404 for an unknown snapshot (another tenant's reads the same), a message
    on the Snapshots page for a moment outside the retention."""
    if not form.is_valid():
        messages.error(request, form_error(form))
        return HttpResponseRedirect(reverse("snapshots"))
    try:
        return source_get(
            tenant=request_tenant(request), snapshot_id=form.cleaned_data["snapshot"], at=form.cleaned_data["at"]
        )
    except DomainError as error:
        # Not the page's own refusal: whatever the page, a bad source goes back to Snapshots.
        return refusal_page(
            request,
            error,
            back=lambda: reverse("snapshots"),
            not_found_title="Snapshot not found",
            not_found_back=lambda: reverse("snapshots"),
        )
