"""Incidents driven by probe observations, and staff moving them through their life cycle.

``incidents_observe`` takes one round of probe observations (whoever ran the
probes), counts each probe's streak in ``ProbeStreak`` and opens or resolves
automatic incidents from the streaks alone, never from raw results:

- a critical probe failing ``HUBPORT_INCIDENT_OPEN_AFTER`` rounds in a row
  (default 2) opens an incident for its hub and component, or joins the one
  already open there (its name added to ``affected``); a flapping probe never
  reaches two failures in a row, so it opens nothing;
- the incident resolves when every probe of that hub and component has passed
  ``HUBPORT_INCIDENT_RESOLVE_AFTER`` rounds in a row (default 2);
- while a critical probe of a hub's database, broker, workers or storage is
  failing, probes whose component needs it (``DEPENDS_ON``) open nothing of
  their own and are named in that incident's ``affected`` instead;
- warning probes only count their streaks.

One unresolved incident per hub and component is a database constraint; an
observer that loses the race to open it catches the IntegrityError inside a
savepoint and joins the winner's incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hubs.errors import IncidentRefused
from hubs.models import Hub, Incident, IncidentUpdate, ProbeStreak, StatusDelivery
from hubs.services.alerts import (
    alerts_incident_acknowledged,
    alerts_incident_opened,
    alerts_incident_reopened,
    alerts_incident_resolved,
)
from hubs.services.audit import audit_record, audit_snapshot
from hubs.services.status_subscriptions import status_notices_for_incident

if TYPE_CHECKING:
    from portal.models import User

News = StatusDelivery.Kind

STORAGE_COMPONENTS = ("storage.primary", "storage.alternate")

# A component's failures are noise while one of these is failing on the same
# hub: a replication needs the hub database and both storages; a file
# transaction needs those, the broker and a worker of the hub too. The engineer
# is paged once, for the cause, and the incident names the rest as affected.
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "replication": ("database", *STORAGE_COMPONENTS),
    "file_transaction": ("database", "broker", "workers", *STORAGE_COMPONENTS),
    # Scrub's findings are read from the hub database: unreachable, it says nothing of the blobs.
    "integrity": ("database",),
}


@dataclass(frozen=True)
class Observation:
    """One probe's result in one round: the one input of ``incidents_observe``."""

    hub_code: str | None
    name: str
    component: str
    severity: str
    ok: bool
    detail: str
    at: datetime


@dataclass
class ObserveResult:
    opened: list[Incident] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)


def _open_after() -> int:
    return int(getattr(settings, "HUBPORT_INCIDENT_OPEN_AFTER", 2))


def _resolve_after() -> int:
    return int(getattr(settings, "HUBPORT_INCIDENT_RESOLVE_AFTER", 2))


def _unresolved(hub_code: str | None, component: str):  # type: ignore[no-untyped-def]
    return (
        Incident.objects.select_for_update()
        .filter(hub_id=hub_code, component=component)
        .exclude(state=Incident.State.RESOLVED)
    )


def incidents_observe(*, observations: Sequence[Observation], now: datetime | None = None) -> ObserveResult:
    """Count one round of observations into the streaks, then open, join and resolve
    automatic incidents. One transaction on the control plane."""
    now = now or timezone.now()
    result = ObserveResult()
    with transaction.atomic():
        streaks = [_streak_count(observation) for observation in observations]
        details = {(o.hub_code, o.name): o.detail for o in observations}
        # Causes first, so a probe that needs one finds its incident opened this round.
        for streak in sorted(streaks, key=lambda streak: streak.component in DEPENDS_ON):
            if streak.severity != Incident.Severity.CRITICAL or streak.consecutive_failures < _open_after():
                continue
            target = _suppressing_cause(streak) or streak.component
            incident, opened = _incident_open_or_join(
                hub_code=streak.hub_id,
                component=target,
                probe_name=streak.name,
                detail=details.get((streak.hub_id, streak.name), ""),
                now=now,
                may_open=target == streak.component,
            )
            if opened and incident is not None:
                result.opened.append(incident)
        for hub_code, component in sorted({(s.hub_id or "", s.component) for s in streaks}):
            resolved = _incident_resolve_if_recovered(hub_code=hub_code or None, component=component, now=now)
            if resolved is not None:
                result.resolved.append(resolved)
    return result


def _streak_count(observation: Observation) -> ProbeStreak:
    streak, _ = ProbeStreak.objects.select_for_update().get_or_create(
        hub_id=observation.hub_code,
        name=observation.name,
        defaults={
            "component": observation.component,
            "severity": observation.severity,
            "last_at": observation.at,
        },
    )
    streak.component, streak.severity = observation.component, observation.severity
    if observation.ok:
        streak.consecutive_passes += 1
        streak.consecutive_failures = 0
    else:
        streak.consecutive_failures += 1
        streak.consecutive_passes = 0
    streak.last_ok, streak.last_at = observation.ok, observation.at
    streak.save()
    return streak


def _suppressing_cause(streak: ProbeStreak) -> str | None:
    """The component whose failure explains this probe's, if any: one whose
    critical probe on the same hub failed in its latest round."""
    if streak.hub_id is None:
        return None
    for cause in DEPENDS_ON.get(streak.component, ()):
        if ProbeStreak.objects.filter(
            hub_id=streak.hub_id, component=cause, severity=Incident.Severity.CRITICAL, last_ok=False
        ).exists():
            return cause
    return None


def _incident_open_or_join(
    *, hub_code: str | None, component: str, probe_name: str, detail: str, now: datetime, may_open: bool
) -> tuple[Incident | None, bool]:
    """The unresolved incident of this hub and component with the probe among its
    affected, and whether this call opened it."""
    incident = _unresolved(hub_code, component).first()
    if incident is None and may_open:
        hub = Hub.objects.get(code=hub_code) if hub_code else None
        place = hub.label if hub else "Control plane"
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    hub=hub,
                    component=component,
                    severity=Incident.Severity.CRITICAL,
                    state=Incident.State.INVESTIGATING,
                    title=f"{place}: {component} failing",
                    automatic=True,
                    opened_at=now,
                    affected=[probe_name],
                )
                update = IncidentUpdate.objects.create(
                    incident=incident, at=now, state=incident.state, body=f"Opened: {probe_name}: {detail}".strip()
                )
                # Inside the savepoint: an observer that loses the race pages nobody.
                alerts_incident_opened(incident=incident, now=now)
                status_notices_for_incident(incident=incident, update=update, kind=News.INCIDENT_OPENED)
            return incident, True
        except IntegrityError:
            # Another observer opened it first; join theirs.
            incident = _unresolved(hub_code, component).first()
    if incident is not None and probe_name not in incident.affected:
        incident.affected = [*incident.affected, probe_name]
        incident.save(update_fields=["affected"])
    return incident, False


def _incident_resolve_if_recovered(*, hub_code: str | None, component: str, now: datetime) -> Incident | None:
    incident = _unresolved(hub_code, component).filter(automatic=True).first()
    if incident is None:
        return None
    streaks = ProbeStreak.objects.filter(hub_id=hub_code, component=component)
    # Resolved on the round recovery completes (one probe reaching N passes now),
    # so an incident staff reopened while the probes pass stays open until they
    # resolve it or the probes fail and recover again.
    if streaks.filter(consecutive_passes__lt=_resolve_after()).exists():
        return None
    if not streaks.filter(consecutive_passes=_resolve_after()).exists():
        return None
    _state_change(incident, state=Incident.State.RESOLVED, now=now)
    update = IncidentUpdate.objects.create(
        incident=incident, at=now, state=incident.state, body="Resolved: every probe passed again."
    )
    status_notices_for_incident(incident=incident, update=update, kind=News.INCIDENT_RESOLVED)
    return incident


def _state_change(incident: Incident, *, state: str, now: datetime) -> None:
    """Move the state; a resolution is announced to whoever was paged, and a
    reopened incident is paged again and needs acknowledging again (after commit)."""
    resolving = state == Incident.State.RESOLVED and incident.state != Incident.State.RESOLVED
    reopening = incident.state == Incident.State.RESOLVED and state != Incident.State.RESOLVED
    incident.state = state
    incident.resolved_at = now if state == Incident.State.RESOLVED else None
    fields = ["state", "resolved_at"]
    if reopening:
        incident.acknowledged_at, incident.acknowledged_by = None, None
        fields += ["acknowledged_at", "acknowledged_by"]
    incident.save(update_fields=fields)
    if resolving:
        alerts_incident_resolved(incident=incident, now=now)
    if reopening:
        alerts_incident_reopened(incident=incident, now=now)


def incident_acknowledge(*, incident: Incident, acting_user: User, note: str = "") -> Incident:
    """A person takes the incident: acknowledged once, an unresolved incident only."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.state == Incident.State.RESOLVED:
            raise IncidentRefused(f"Incident {incident.pk} is resolved; there is nothing to acknowledge.")
        if incident.acknowledged_at is not None:
            raise IncidentRefused(f"Incident {incident.pk} was acknowledged already.")
        before = audit_snapshot(incident)
        now = timezone.now()
        incident.acknowledged_at, incident.acknowledged_by = now, acting_user
        incident.save(update_fields=["acknowledged_at", "acknowledged_by"])
        # Escalation stops here; the others paged and the webhooks hear of it after commit.
        alerts_incident_acknowledged(incident=incident, acting_user=acting_user, now=now)
        if note:
            IncidentUpdate.objects.create(
                incident=incident, at=now, state=incident.state, body=note, author=acting_user
            )
        audit_record(
            actor=acting_user,
            action="incident.acknowledge",
            target=incident,
            before=before,
            after=audit_snapshot(incident),
            reason=note,
        )
    return incident


def incident_open(
    *,
    hub: Hub | None,
    component: str,
    title: str,
    body: str,
    acting_user: User | None,
    severity: str = Incident.Severity.CRITICAL,
    public: bool = True,
) -> Incident:
    """Staff open an incident themselves (one unresolved per hub and component);
    it pages the duty engineer as an automatic one does. No ``acting_user``: the
    system opened it (an automatic failover)."""
    if not component.strip() or not title.strip() or not body.strip():
        raise IncidentRefused("Give the incident a component, a title and a first update.")
    if severity not in Incident.Severity.values:
        raise IncidentRefused(f"{severity!r} is not an incident severity.")
    now = timezone.now()
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                hub=hub,
                component=component.strip(),
                severity=severity,
                state=Incident.State.INVESTIGATING,
                title=title.strip(),
                automatic=False,
                opened_at=now,
            )
            update = IncidentUpdate.objects.create(
                incident=incident, at=now, state=incident.state, body=body, public=public, author=acting_user
            )
            audit_record(actor=acting_user, action="incident.open", target=incident, after=audit_snapshot(incident))
            alerts_incident_opened(incident=incident, now=now)
            status_notices_for_incident(incident=incident, update=update, kind=News.INCIDENT_OPENED)
    except IntegrityError as exc:
        raise IncidentRefused(f"An incident is open for {component} on this hub already; update that one.") from exc
    return incident


def incident_update_add(
    *, incident: Incident, state: str, body: str, public: bool, acting_user: User
) -> IncidentUpdate:
    """A step in the timeline, public or not, that may move the state. A resolved
    incident can only be reopened (to any unresolved state), and only an automatic one."""
    if state not in Incident.State.values:
        raise IncidentRefused(f"{state!r} is not an incident state.")
    if not body.strip():
        raise IncidentRefused("Say what changed: an update needs a body.")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.state == Incident.State.RESOLVED:
            if state == Incident.State.RESOLVED:
                raise IncidentRefused(f"Incident {incident.pk} is resolved already.")
            if not incident.automatic:
                raise IncidentRefused(f"Incident {incident.pk} was opened by staff; open a new one instead.")
            if _unresolved(incident.hub_id, incident.component).exists():
                raise IncidentRefused(
                    f"Another incident is open for {incident.component} on this hub; update that one."
                )
        now = timezone.now()
        before = audit_snapshot(incident)
        if state != incident.state:
            _state_change(incident, state=state, now=now)
        update = IncidentUpdate.objects.create(
            incident=incident, at=now, state=state, body=body, public=public, author=acting_user
        )
        # Subscribers hear of every resolution, and of other steps when they are public.
        if state == Incident.State.RESOLVED:
            status_notices_for_incident(incident=incident, update=update, kind=News.INCIDENT_RESOLVED)
        elif public:
            status_notices_for_incident(incident=incident, update=update, kind=News.INCIDENT_UPDATED)
        audit_record(
            actor=acting_user,
            action="incident.update",
            target=incident,
            before=before,
            after=audit_snapshot(incident),
            reason=body[:200],
        )
    return update


def incident_resolve(
    *, incident: Incident, acting_user: User, body: str = "Resolved.", public: bool = True
) -> Incident:
    """Staff resolve an incident themselves."""
    update = incident_update_add(
        incident=incident, state=Incident.State.RESOLVED, body=body, public=public, acting_user=acting_user
    )
    return update.incident
