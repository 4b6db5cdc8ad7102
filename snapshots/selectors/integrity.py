"""What scrub and downloads found, for support: the findings of a hub, and
the files of a tenant whose versions use the blobs concerned. Read from the
hub's database at the time they are shown; names never leave it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.errors import NotFound
from snapshots.models import NodeVersion, ScrubFinding, ScrubPass
from snapshots.selectors import path_of

if TYPE_CHECKING:
    from hubs.models import Tenant

# Repairs stay on support's list for a fortnight: two scheduled passes.
RECENT_REPAIRS = timedelta(days=14)
# A page lists at most this many findings and versions; a hub with more has
# a bigger problem than a list can tell (the probe and the logs count them all).
FINDINGS_SHOWN = 500
VERSIONS_SHOWN = 500


@dataclass(frozen=True)
class AffectedVersion:
    """One version of a file whose bytes are a blob scrub or a download found bad."""

    blob_id: int
    version_id: int
    node_id: int
    path: str
    size: int
    changed_at: datetime
    closed_at: datetime | None
    is_current: bool


def integrity_findings(
    *, hub_code: str, tenant: Tenant | None = None, now: datetime | None = None
) -> list[ScrubFinding]:
    """The hub's open findings (lost blobs, copies marked bad) and those repaired
    in the last RECENT_REPAIRS, newest first; only ``tenant``'s when given."""
    since = (now or timezone.now()) - RECENT_REPAIRS
    findings = ScrubFinding.objects.for_hub(hub_code) if tenant is None else ScrubFinding.objects.for_tenant(tenant)
    return list(
        findings.filter(Q(repaired_at__isnull=True) | Q(repaired_at__gte=since)).order_by("-found_at", "-id")[
            :FINDINGS_SHOWN
        ]
    )


def integrity_affected_versions(*, tenant: Tenant, blob_ids: list[int]) -> list[AffectedVersion]:
    """Every version of the tenant's files (current, older, in the trash) whose
    bytes are one of ``blob_ids``, with its path as of its last moment."""
    rows = (
        NodeVersion.objects.for_tenant(tenant)
        .filter(blob_id__in=blob_ids)
        .order_by("blob_id", "node_id", "-valid_from")[:VERSIONS_SHOWN]
    )
    affected = []
    for version in rows:
        seq = None if version.valid_to is None else version.valid_to - 1
        try:
            path = path_of(tenant=tenant, node_id=version.node_id, seq=seq)
        except NotFound:
            path = f"(folder gone) {version.name}"
        assert version.blob_id is not None  # filtered on it
        affected.append(
            AffectedVersion(
                blob_id=version.blob_id,
                version_id=version.pk,
                node_id=version.node_id,
                path=path,
                size=version.size,
                changed_at=version.changed_at,
                closed_at=version.closed_at,
                is_current=version.valid_to is None,
            )
        )
    return affected


def scrub_pass_latest(*, hub_code: str) -> ScrubPass | None:
    """The hub's scheduled scrub pass under way, else the last one finished."""
    return (
        ScrubPass.objects.using(hub_database_alias(hub_code))
        .filter(hub_code=hub_code)
        .order_by("-started_at", "-id")
        .first()
    )
