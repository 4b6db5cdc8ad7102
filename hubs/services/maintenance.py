"""Maintenance windows: every staff write, under the promise's rules.

Every way of scheduling maintenance (the admin, the API,
``manage.py schedule_maintenance``) goes through the functions here, so the
rules (``hubs.weekends``: the weekend and five days' notice) are checked in
one place:

- **Changes**: moving a window later or shortening it needs no new notice; it
  still stays at the weekend. Moving it earlier, extending it, adding a hub or
  raising its impact is a new announcement and must meet both rules again.
- **Emergency**: staff may bypass the rules only with a written reason; the
  window is flagged as an emergency wherever it is shown.

Every staff action is written to the staff audit log inside its transaction.
Notices are rows (``hubs.services.notices``) created in the same transaction
as the change they describe and sent by the ``control`` queue after commit, so
a lost message is found again by the minute's job (``hubs.services.advance``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from hubs.errors import MaintenanceRefused
from hubs.formatting import format_utc
from hubs.models import Hub, MaintenanceWindow, NoticeDelivery
from hubs.selectors import ACTIVE_STATES, IMPACT_SEVERITY, Impact, State, effective_state
from hubs.services.audit import audit_record, audit_snapshot
from hubs.services.notices import notices_create
from hubs.services.status_subscriptions import status_notices_for_window
from hubs.tasks import notice_deliveries_send
from hubs.weekends import EMERGENCY_NEEDS_REASON, maintenance_rule_refusals, notice_words

if TYPE_CHECKING:
    from portal.models import User

Kind = NoticeDelivery.Kind


def _notices_announce(*, window: MaintenanceWindow, kind: str, hub_codes: Iterable[str]) -> None:
    """The notice's deliveries, inside the caller's transaction, sent after it commits."""
    delivery_ids = notices_create(window=window, kind=kind, hub_codes=hub_codes)
    transaction.on_commit(lambda: notice_deliveries_send(delivery_ids), using="default")


def notice_deliveries_retry(*, delivery_ids: Iterable[int], acting_user: User | None) -> int:
    """Staff send failed deliveries again (after fixing an address or the mail server)."""
    with transaction.atomic(using="default"):
        ids = list(
            NoticeDelivery.objects.filter(pk__in=list(delivery_ids), state=NoticeDelivery.State.FAILED).values_list(
                "pk", flat=True
            )
        )
        NoticeDelivery.objects.filter(pk__in=ids).update(state=NoticeDelivery.State.PENDING, attempts=0)
        for delivery_id in ids:
            audit_record(
                actor=acting_user,
                action="noticedelivery.retry",
                target_type=NoticeDelivery._meta.label,
                target_id=str(delivery_id),
            )
        transaction.on_commit(lambda: notice_deliveries_send(ids), using="default")
    return len(ids)


# SECTION: schedule, change, cancel


def maintenance_schedule_refusals(
    *,
    hubs: Sequence[Hub],
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    impact: str = Impact.UNAVAILABLE,
    emergency: bool = False,
    emergency_reason: str = "",
    now: datetime | None = None,
) -> list[str]:
    """Why ``maintenance_schedule`` would refuse this window now; empty when it would accept it."""
    now = now or timezone.now()
    if not title.strip():
        return ["Give the window a title customers will understand."]
    if impact not in Impact.values:
        return [f"Impact must be one of {', '.join(Impact.values)}; got {impact!r}."]
    reason = (emergency_reason or "").strip()
    if emergency and not reason:
        return [EMERGENCY_NEEDS_REASON]
    return maintenance_rule_refusals(
        hubs=hubs,
        starts_at=starts_at,
        ends_at=ends_at,
        announced_at=now,
        check_notice=not reason,
        check_weekend=not reason,
    )


def maintenance_schedule(
    *,
    hubs: Sequence[Hub],
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    impact: str = Impact.UNAVAILABLE,
    emergency: bool = False,
    emergency_reason: str = "",
    acting_user: User | None = None,
    now: datetime | None = None,
) -> MaintenanceWindow:
    """Announce a maintenance window, now. Refused (``MaintenanceRefused``) unless it
    keeps the promise, or is an emergency with a written reason (a reason given
    makes it an emergency: the command has only ``--emergency-reason``).

    ``now`` is the announcement; it defaults to the present moment. The admin
    passes the moment its form checked the rules, a few milliseconds earlier,
    so a window checked at exactly the edge is not refused on saving.
    """
    now = now or timezone.now()
    hubs = list(hubs)
    refusals = maintenance_schedule_refusals(
        hubs=hubs,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        impact=impact,
        emergency=emergency,
        emergency_reason=emergency_reason,
        now=now,
    )
    if refusals:
        raise MaintenanceRefused(refusals)
    reason = (emergency_reason or "").strip()
    with transaction.atomic(using="default"):
        window = MaintenanceWindow.objects.create(
            title=title.strip(),
            description=description.strip(),
            impact=impact,
            starts_at=starts_at,
            ends_at=ends_at,
            is_emergency=bool(reason),
            emergency_reason=reason,
            created_by=acting_user,
            announced_at=now,
        )
        window.hubs.set(hubs)
        audit_record(
            actor=acting_user,
            action="maintenancewindow.emergency_schedule" if reason else "maintenancewindow.schedule",
            target=window,
            after=audit_snapshot(window),
            reason=reason,
        )
        _notices_announce(window=window, kind=Kind.ANNOUNCED, hub_codes=[hub.code for hub in hubs])
        status_notices_for_window(window=window, hub_codes=[hub.code for hub in hubs])
    return window


@dataclass
class ChangePlan:
    """What a change would do to a window, and why it would be refused."""

    hubs: list[Hub]
    old_codes: set[str]
    title: str
    description: str
    impact: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    unchanged: bool = False
    is_new_announcement: bool = False
    refusals: list[str] = field(default_factory=list)


def maintenance_change_plan(
    *,
    window: MaintenanceWindow,
    hubs: Sequence[Hub] | None = None,
    title: str | None = None,
    description: str | None = None,
    impact: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    emergency: bool = False,
    emergency_reason: str = "",
    now: datetime | None = None,
) -> ChangePlan:
    """Judge a change of ``window`` (as stored) without making it. Moving later or
    shortening needs no new notice but stays at the weekend; moving earlier,
    extending, adding a hub or raising the impact is a new announcement."""
    now = now or timezone.now()
    old_hubs = list(window.hubs.all())
    plan = ChangePlan(
        hubs=sorted(hubs if hubs is not None else old_hubs, key=lambda hub: (hub.sort_order, hub.code)),
        old_codes={hub.code for hub in old_hubs},
        title=title.strip() if title is not None else window.title,
        description=description.strip() if description is not None else window.description,
        impact=impact if impact is not None else window.impact,
        starts_at=starts_at if starts_at is not None else window.starts_at,
        ends_at=ends_at if ends_at is not None else window.ends_at,
        reason=(emergency_reason or "").strip(),
    )
    new_codes = {hub.code for hub in plan.hubs}
    if window.state not in ACTIVE_STATES or window.ends_at <= now:
        plan.refusals = [
            f"Window {window.pk} is {State(effective_state(window, now)).label.lower()}; it can no longer be changed."
        ]
        return plan
    if emergency and not plan.reason:
        plan.refusals = [EMERGENCY_NEEDS_REASON]
        return plan
    if not plan.title:
        plan.refusals = ["Give the window a title customers will understand."]
        return plan
    if plan.impact not in Impact.values:
        plan.refusals = [f"Impact must be one of {', '.join(Impact.values)}; got {plan.impact!r}."]
        return plan
    plan.unchanged = plan.old_codes == new_codes and (
        plan.title,
        plan.description,
        plan.impact,
        plan.starts_at,
        plan.ends_at,
    ) == (window.title, window.description, window.impact, window.starts_at, window.ends_at)
    if plan.unchanged:
        return plan
    plan.is_new_announcement = (
        plan.starts_at < window.starts_at
        or (plan.ends_at - plan.starts_at) > (window.ends_at - window.starts_at)
        or not new_codes <= plan.old_codes
        or IMPACT_SEVERITY[Impact(plan.impact)] > IMPACT_SEVERITY[Impact(window.impact)]
    )
    started = window.starts_at <= now
    if started and plan.starts_at != window.starts_at:
        plan.refusals = [
            f"Window {window.pk} started at {format_utc(window.starts_at)}; its start can no longer be moved."
        ]
    elif started and plan.ends_at <= now:
        plan.refusals = [f"The end, {format_utc(plan.ends_at)}, is already past; cancel the window to end it now."]
    elif started and plan.is_new_announcement and not plan.reason:
        plan.refusals = [
            f"Window {window.pk} is running; extending it, adding a hub or raising its impact breaks the "
            f"{notice_words()} given for it. Mark it an emergency with a written reason to do that."
        ]
    elif not started:
        plan.refusals = maintenance_rule_refusals(
            hubs=plan.hubs,
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
            announced_at=now,
            check_notice=plan.is_new_announcement and not plan.reason,
            check_weekend=not plan.reason,
        )
    return plan


def maintenance_change(
    *,
    window: MaintenanceWindow,
    acting_user: User | None = None,
    hubs: Sequence[Hub] | None = None,
    title: str | None = None,
    description: str | None = None,
    impact: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    emergency: bool = False,
    emergency_reason: str = "",
    now: datetime | None = None,
) -> MaintenanceWindow:
    """Change a scheduled or running window and re-announce it to everyone affected
    before or after the change (see ``maintenance_change_plan`` for the rules).
    An emergency reason bypasses the rules and flags the window. A change that
    changes nothing sends nothing."""
    now = now or timezone.now()
    with transaction.atomic(using="default"):
        locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
        plan = maintenance_change_plan(
            window=locked,
            hubs=hubs,
            title=title,
            description=description,
            impact=impact,
            starts_at=starts_at,
            ends_at=ends_at,
            emergency=emergency,
            emergency_reason=emergency_reason,
            now=now,
        )
        if plan.refusals:
            raise MaintenanceRefused(plan.refusals)
        if plan.unchanged:
            return locked
        before = audit_snapshot(locked)
        locked.title, locked.description, locked.impact = plan.title, plan.description, plan.impact
        locked.starts_at, locked.ends_at = plan.starts_at, plan.ends_at
        locked.revision += 1
        locked.changed_at = now
        if plan.is_new_announcement:
            locked.announced_at = now
        if plan.reason:
            locked.is_emergency = True
            locked.emergency_reason = plan.reason
        locked.save()
        new_codes = {hub.code for hub in plan.hubs}
        if new_codes != plan.old_codes:
            locked.hubs.set(plan.hubs)
        audit_record(
            actor=acting_user,
            action="maintenancewindow.emergency_change" if plan.reason else "maintenancewindow.change",
            target=locked,
            before=before,
            after=audit_snapshot(locked),
            reason=plan.reason,
        )
        # Customers of a hub taken out of the window are told too.
        _notices_announce(window=locked, kind=Kind.CHANGED, hub_codes=plan.old_codes | new_codes)
    return locked


def maintenance_cancel(
    *, window: MaintenanceWindow, acting_user: User | None = None, reason: str = "", now: datetime | None = None
) -> MaintenanceWindow:
    """Cancel a scheduled or running window (always allowed) and tell everyone affected.
    A running window cancelled ends at once: maintenance mode is lifted."""
    now = now or timezone.now()
    with transaction.atomic(using="default"):
        locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
        if locked.state not in ACTIVE_STATES:
            raise MaintenanceRefused(
                [f"Window {locked.pk} is {locked.get_state_display().lower()}; there is nothing to cancel."]
            )
        before = audit_snapshot(locked)
        locked.state = State.CANCELLED
        locked.cancelled_at = now
        locked.cancel_reason = reason.strip()
        locked.revision += 1
        locked.save(update_fields=["state", "cancelled_at", "cancel_reason", "revision"])
        audit_record(
            actor=acting_user,
            action="maintenancewindow.cancel",
            target=locked,
            before=before,
            after=audit_snapshot(locked),
            reason=locked.cancel_reason,
        )
        _notices_announce(window=locked, kind=Kind.CANCELLED, hub_codes=locked.hubs.values_list("code", flat=True))
    return locked
