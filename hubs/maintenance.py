"""Maintenance windows: the rules that keep the promise, and every write.

The resilience statement promises that maintenance happens at the weekend and
is announced five days ahead. Every way of scheduling maintenance (the admin,
the API, ``manage.py schedule_maintenance``) goes through the functions here,
so the rules are checked in one place:

- **Notice**: a window starts at least ``MAINTENANCE_NOTICE_HOURS`` (120) hours
  after its announcement, the moment it is saved.
- **Weekend**: start and end fall inside one weekend, Saturday 00:00 to Monday
  00:00, in the local time of every affected hub (zoneinfo, so daylight-saving
  weekends of 47 or 49 hours are what they are).
- **Changes**: moving a window later or shortening it needs no new notice; it
  still stays at the weekend. Moving it earlier, extending it, adding a hub or
  raising its impact is a new announcement and must meet both rules again.
- **Emergency**: staff may bypass the rules only with a written reason; the
  window is flagged as an emergency wherever it is shown.

Every staff action is written to the staff audit log inside its transaction.
Notices are rows (``NoticeDelivery``) created in the same transaction as the
change they describe and sent by the ``control`` queue after commit, so a lost
message is found again by ``maintenance_advance``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hubs.errors import MaintenanceRefused
from hubs.models import Hub, MaintenanceWindow, NoticeDelivery
from hubs.services import audit_record, audit_snapshot

if TYPE_CHECKING:
    from portal.models import User

Impact = MaintenanceWindow.Impact
State = MaintenanceWindow.State
Kind = NoticeDelivery.Kind

# Raising the impact (degraded < read_only < unavailable) is announcing a worse
# window, so it needs the same notice as a new one.
IMPACT_SEVERITY = {Impact.DEGRADED: 0, Impact.READ_ONLY: 1, Impact.UNAVAILABLE: 2}
REMINDER_BEFORE = timedelta(hours=24)
RECENT_DAYS = 30
# How far ahead earliest_allowed_start looks: two hubs' weekends always share at
# least 22 hours (zones differ by at most 26 h), so the first week after the
# notice period has a common weekend; eight weeks is room for odd zones.
SEARCH_WEEKS = 8
# A delivery claimed by a worker that then died is tried again after this long;
# the longest retry countdown (8 min) stays below it.
STALE_DELIVERY_AFTER = timedelta(minutes=15)
ACTIVE_STATES = (State.SCHEDULED, State.IN_PROGRESS)


def notice_hours() -> int:
    return int(getattr(settings, "MAINTENANCE_NOTICE_HOURS", 120))


def notice_period() -> timedelta:
    return timedelta(hours=notice_hours())


def notice_words() -> str:
    hours = notice_hours()
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}' notice"
    return f"{hours} hours' notice"


# SECTION: formatting times (edges only: hub-local time is for people and for the weekend rule)


def format_offset(moment: datetime) -> str:
    """+04, -05, +0530 style, as in "Sat 5 Dec 2026 00:00 +04"."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}" if rest else f"{sign}{hours:02d}"


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {format_offset(local)}"


def format_utc(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return f"{utc:%a} {utc.day} {utc:%b %Y %H:%M} UTC"


def format_hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h" if hours == int(hours) else f"{hours:.1f} h"


def hub_name(hub: Hub) -> str:
    return f"Hub {hub.code} ({hub.city})"


def hubs_phrase(hubs: Sequence[Hub]) -> str:
    codes = [hub.code for hub in hubs]
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]


# SECTION: weekends


Interval = tuple[datetime, datetime]


def weekend_of(moment: datetime, zone: ZoneInfo) -> Interval | None:
    """The weekend (Saturday 00:00 to Monday 00:00 local) containing ``moment``, in UTC; None on a weekday."""
    local = moment.astimezone(zone)
    if local.weekday() < 5:
        return None
    saturday = local.date() - timedelta(days=local.weekday() - 5)
    return _weekend_starting(saturday, zone)


def _weekend_starting(saturday: date, zone: ZoneInfo) -> Interval:
    start = datetime.combine(saturday, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(saturday + timedelta(days=2), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def hub_weekends(zone: ZoneInfo, since: datetime, until: datetime) -> list[Interval]:
    """Every weekend of ``zone`` that overlaps [since, until), in UTC, in order."""
    day = since.astimezone(zone).date()
    saturday = day + timedelta(days=(5 - day.weekday()) % 7) - timedelta(days=7)
    weekends: list[Interval] = []
    while True:
        start, end = _weekend_starting(saturday, zone)
        if start >= until:
            return weekends
        if end > since:
            weekends.append((start, end))
        saturday += timedelta(days=7)


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    shared: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            shared.append((start, end))
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return shared


def shared_weekends(hubs: Sequence[Hub], since: datetime, until: datetime) -> list[Interval]:
    """The stretches of [since, until) that are weekend in every hub, in UTC."""
    shared: list[Interval] | None = None
    for hub in hubs:
        weekends = hub_weekends(hub.zone, since, until)
        shared = weekends if shared is None else _intersect(shared, weekends)
    return shared or []


def earliest_allowed_start(*, hubs: Sequence[Hub], now: datetime | None = None) -> datetime | None:
    """The earliest moment a window announced ``now`` may start in every one of ``hubs``:
    after the notice period and at the weekend in each hub. None for no hubs, or
    for hubs whose weekends never overlap."""
    hubs = list(hubs)
    if not hubs:
        return None
    now = now or timezone.now()
    notice_from = now + notice_period()
    for start, end in shared_weekends(hubs, notice_from, notice_from + timedelta(weeks=SEARCH_WEEKS)):
        if end > notice_from:
            return max(start, notice_from)
    return None


# SECTION: the rules


def _notice_refusal(hubs: Sequence[Hub], *, starts_at: datetime, announced_at: datetime) -> str | None:
    if starts_at >= announced_at + notice_period():
        return None
    earliest = earliest_allowed_start(hubs=hubs, now=announced_at)
    if earliest is None:
        return f"Maintenance must start at least {notice_hours()} hours after it is announced."
    if len(hubs) == 1:
        return (
            f"{hub_name(hubs[0])}: maintenance must start on or after "
            f"{format_local(earliest, hubs[0].zone)} to give {notice_words()}."
        )
    locals_ = ", ".join(f"{hub.code} {format_local(earliest, hub.zone)}" for hub in hubs)
    return (
        f"Hubs {hubs_phrase(hubs)}: maintenance must start on or after {format_utc(earliest)} "
        f"({locals_}) to give {notice_words()} at the weekend in every hub."
    )


def _weekend_refusals(hubs: Sequence[Hub], *, starts_at: datetime, ends_at: datetime) -> list[str]:
    reasons: list[str] = []
    for hub in hubs:
        zone = hub.zone
        weekend = weekend_of(starts_at, zone)
        if weekend is None:
            next_start, next_end = hub_weekends(zone, starts_at, starts_at + timedelta(days=8))[0]
            reasons.append(
                f"{hub_name(hub)}: the start, {format_local(starts_at, zone)}, is not at the weekend there; "
                "maintenance must start and end between Saturday 00:00 and Monday 00:00 local time "
                f"(the next weekend there is {format_local(next_start, zone)} to {format_local(next_end, zone)})."
            )
        elif ends_at > weekend[1]:
            reasons.append(
                f"{hub_name(hub)}: the window must end by {format_local(weekend[1], zone)}, the end of that "
                f"weekend there, but ends {format_local(ends_at, zone)}; shorten it by "
                f"{format_hours(ends_at - weekend[1])} or start it earlier."
            )
    if reasons and len(hubs) > 1:
        reasons.append(_shared_weekend_explanation(hubs, starts_at=starts_at, ends_at=ends_at))
    return reasons


def _shared_weekend_explanation(hubs: Sequence[Hub], *, starts_at: datetime, ends_at: datetime) -> str:
    shared = shared_weekends(hubs, starts_at - timedelta(days=7), starts_at + timedelta(days=14))
    nearest = next(((start, end) for start, end in shared if end > starts_at), None)
    if nearest is None:
        return f"The weekends of hubs {hubs_phrase(hubs)} do not overlap; schedule a window per hub."
    start, end = nearest
    text = (
        f"The weekends of hubs {hubs_phrase(hubs)} overlap only from {format_utc(start)} to {format_utc(end)} "
        f"({format_hours(end - start)}) that week; the window must fit inside that."
    )
    if ends_at - starts_at > end - start:
        text += (
            f" It lasts {format_hours(ends_at - starts_at)}, longer than their shared weekend: "
            "schedule a separate window per hub."
        )
    return text


def maintenance_rule_refusals(
    *,
    hubs: Sequence[Hub],
    starts_at: datetime,
    ends_at: datetime,
    announced_at: datetime,
    check_notice: bool = True,
    check_weekend: bool = True,
) -> list[str]:
    """Every reason a window would be refused; empty when it keeps the promise."""
    hubs = sorted(hubs, key=lambda hub: (hub.sort_order, hub.code))
    if not hubs:
        return ["Choose at least one hub."]
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        return ["Give the start and end with their time zone (for example 2026-12-05T09:00Z)."]
    if ends_at <= starts_at:
        return [f"The end, {format_utc(ends_at)}, must be after the start, {format_utc(starts_at)}."]
    if ends_at <= announced_at:
        return [f"The end, {format_utc(ends_at)}, is already past."]
    reasons: list[str] = []
    if check_notice:
        refusal = _notice_refusal(hubs, starts_at=starts_at, announced_at=announced_at)
        if refusal:
            reasons.append(refusal)
    if check_weekend:
        reasons.extend(_weekend_refusals(hubs, starts_at=starts_at, ends_at=ends_at))
    return reasons


EMERGENCY_NEEDS_REASON = (
    "An emergency window bypasses the weekend and notice rules only with a written reason; give one."
)


# SECTION: notices


def notice_recipients(hub_codes: Iterable[str]) -> list[tuple[int, str]]:
    """(user id, email) of every active owner and admin of every tenant in the hubs, each once."""
    from hubs.models import Membership

    rows = (
        Membership.objects.filter(
            tenant__hub_id__in=list(hub_codes),
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user_id", "user__email")
        .order_by("user_id")
        .distinct()
    )
    return list(rows)


def _notices_create(*, window: MaintenanceWindow, kind: str, hub_codes: Iterable[str]) -> None:
    """Pending deliveries for one notice, inside the caller's transaction; sent after commit."""
    NoticeDelivery.objects.bulk_create(
        [
            NoticeDelivery(window=window, user_id=user_id, email=email, kind=kind, revision=window.revision)
            for user_id, email in notice_recipients(hub_codes)
        ],
        ignore_conflicts=True,
    )
    window_id, revision = window.pk, window.revision

    def enqueue() -> None:
        ids = NoticeDelivery.objects.filter(
            window_id=window_id, kind=kind, revision=revision, state=NoticeDelivery.State.PENDING
        ).values_list("pk", flat=True)
        _enqueue_deliveries(list(ids))

    transaction.on_commit(enqueue, using="default")


def _enqueue_deliveries(delivery_ids: list[int]) -> None:
    from hubs.tasks import maintenance_notice_deliver_task

    for delivery_id in delivery_ids:
        maintenance_notice_deliver_task.delay(delivery_id=delivery_id)


def notice_delivery_claim(*, delivery_id: int, now: datetime | None = None) -> NoticeDelivery | None:
    """Mark a delivery as being sent and count the attempt; None when there is
    nothing to send (gone, already sent, given up, or another worker is on it)."""
    now = now or timezone.now()
    with transaction.atomic(using="default"):
        delivery = NoticeDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.state in (NoticeDelivery.State.SENT, NoticeDelivery.State.FAILED):
            return None
        if (
            delivery.state == NoticeDelivery.State.SENDING
            and delivery.last_attempt_at is not None
            and now - delivery.last_attempt_at < STALE_DELIVERY_AFTER
        ):
            return None
        delivery.state = NoticeDelivery.State.SENDING
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.save(update_fields=["state", "attempts", "last_attempt_at"])
    return delivery


def notice_delivery_sent(*, delivery: NoticeDelivery) -> NoticeDelivery:
    delivery.state = NoticeDelivery.State.SENT
    delivery.sent_at = timezone.now()
    delivery.last_error = ""
    delivery.save(update_fields=["state", "sent_at", "last_error"])
    return delivery


def notice_delivery_failed(*, delivery: NoticeDelivery, error: str, final: bool) -> NoticeDelivery:
    """Record a failed attempt: pending again (a retry follows) or failed for good."""
    delivery.state = NoticeDelivery.State.FAILED if final else NoticeDelivery.State.PENDING
    delivery.last_error = error[:2000]
    delivery.save(update_fields=["state", "last_error"])
    return delivery


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
        transaction.on_commit(lambda: _enqueue_deliveries(ids), using="default")
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
        _notices_create(window=window, kind=Kind.ANNOUNCED, hub_codes=[hub.code for hub in hubs])
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
        _notices_create(window=locked, kind=Kind.CHANGED, hub_codes=plan.old_codes | new_codes)
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
        _notices_create(window=locked, kind=Kind.CANCELLED, hub_codes=locked.hubs.values_list("code", flat=True))
    return locked


# SECTION: on time, by itself (beat, every minute)


@dataclass
class AdvanceResult:
    started: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    requeued: int = 0


def maintenance_advance(now: datetime | None = None) -> AdvanceResult:
    """Move windows whose time has come (scheduled → in progress → completed),
    send their reminders 24 hours ahead, and queue again deliveries whose task
    was lost. Idempotent: running it twice in the same minute does nothing more."""
    now = now or timezone.now()
    result = AdvanceResult()
    due = MaintenanceWindow.objects.filter(
        Q(state=State.SCHEDULED, starts_at__lte=now) | Q(state=State.IN_PROGRESS, ends_at__lte=now)
    ).values_list("pk", flat=True)
    for window_id in list(due):
        with transaction.atomic(using="default"):
            window = MaintenanceWindow.objects.select_for_update().get(pk=window_id)
            codes = list(window.hubs.values_list("code", flat=True))
            if window.state == State.SCHEDULED and window.starts_at <= now:
                window.started_at = now
                if window.ends_at > now:
                    window.state = State.IN_PROGRESS
                    window.save(update_fields=["state", "started_at"])
                    _notices_create(window=window, kind=Kind.STARTED, hub_codes=codes)
                    result.started.append(window.pk)
                    continue
                # The whole window passed while nothing ran: its end is the news.
            if window.state in ACTIVE_STATES and window.ends_at <= now:
                window.state = State.COMPLETED
                window.completed_at = now
                window.save(update_fields=["state", "started_at", "completed_at"])
                _notices_create(window=window, kind=Kind.COMPLETED, hub_codes=codes)
                result.completed.append(window.pk)
    upcoming = MaintenanceWindow.objects.filter(
        state=State.SCHEDULED, starts_at__gt=now, starts_at__lte=now + REMINDER_BEFORE
    )
    for window in upcoming:
        last_told = max(window.announced_at, window.changed_at or window.announced_at)
        if last_told >= window.starts_at - REMINDER_BEFORE:
            continue  # told within the last day already; a reminder would repeat it
        if window.deliveries.filter(kind=Kind.REMINDER, revision=window.revision).exists():
            continue
        with transaction.atomic(using="default"):
            locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
            if locked.state != State.SCHEDULED or locked.revision != window.revision:
                continue
            _notices_create(window=locked, kind=Kind.REMINDER, hub_codes=locked.hubs.values_list("code", flat=True))
            result.reminded.append(locked.pk)
    stale = NoticeDelivery.objects.filter(
        Q(state=NoticeDelivery.State.PENDING, created_at__lte=now - STALE_DELIVERY_AFTER)
        & (Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=now - STALE_DELIVERY_AFTER))
        | Q(state=NoticeDelivery.State.SENDING, last_attempt_at__lte=now - STALE_DELIVERY_AFTER)
    ).values_list("pk", flat=True)[:1000]
    stale_ids = list(stale)
    if stale_ids:
        _enqueue_deliveries(stale_ids)
        result.requeued = len(stale_ids)
    return result


# SECTION: reads


def effective_state(window: MaintenanceWindow, now: datetime) -> str:
    """The state by the clock: a window whose time came shows as running even if
    the minute's beat has not moved it yet."""
    if window.state == State.CANCELLED:
        return State.CANCELLED
    if window.ends_at <= now:
        return State.COMPLETED
    if window.starts_at <= now:
        return State.IN_PROGRESS
    return State.SCHEDULED


def windows_running(*, now: datetime | None = None) -> QuerySet[MaintenanceWindow]:
    now = now or timezone.now()
    return MaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now).exclude(state=State.CANCELLED)


def windows_announced_for_hub(*, hub_code: str, now: datetime | None = None) -> list[MaintenanceWindow]:
    """Windows of a hub that are announced and not over: upcoming and running, soonest first."""
    now = now or timezone.now()
    return list(
        MaintenanceWindow.objects.filter(hubs__code=hub_code, ends_at__gt=now, state__in=ACTIVE_STATES)
        .order_by("starts_at", "pk")
        .distinct()
    )


def windows_for_hub(*, hub_code: str, now: datetime | None = None) -> dict[str, list[MaintenanceWindow]]:
    """A hub's windows: in progress, upcoming, and recent (ended or cancelled in the last 30 days)."""
    now = now or timezone.now()
    since = now - timedelta(days=RECENT_DAYS)
    windows = (
        MaintenanceWindow.objects.filter(hubs__code=hub_code)
        .filter(Q(ends_at__gt=since) | Q(cancelled_at__gt=since))
        .prefetch_related("hubs")
        .order_by("starts_at", "pk")
        .distinct()
    )
    grouped: dict[str, list[MaintenanceWindow]] = {"in_progress": [], "upcoming": [], "recent": []}
    for window in windows:
        state = effective_state(window, now)
        if state == State.IN_PROGRESS:
            grouped["in_progress"].append(window)
        elif state == State.SCHEDULED:
            grouped["upcoming"].append(window)
        else:
            grouped["recent"].append(window)
    grouped["recent"].reverse()
    return grouped


def hub_unavailable_until(*, hub_code: str, now: datetime | None = None) -> datetime | None:
    """When the hub's running ``unavailable`` window ends, or None when there is none."""
    now = now or timezone.now()
    ends = (
        windows_running(now=now)
        .filter(hubs__code=hub_code, impact=Impact.UNAVAILABLE)
        .order_by("-ends_at")
        .values_list("ends_at", flat=True)
        .first()
    )
    return ends


def seconds_until(moment: datetime, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return max(1, math.ceil((moment - now).total_seconds()))
