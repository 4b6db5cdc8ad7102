"""What customers are told about maintenance: the emails and the calendar data.

Every email gives the window in the local time of each of the reader's hubs
and in UTC, and (except for start and completion) carries an .ics event that
calendars update in place: one UID per window, SEQUENCE = its revision,
METHOD:CANCEL when it is cancelled. The iCalendar text is written here by hand
to RFC 5545 (CRLF lines folded at 75 octets, TEXT values escaped, times in
UTC), so no dependency is needed for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from hubs.formatting import format_local, format_utc
from hubs.links import absolute_url
from hubs.models import Hub, MaintenanceWindow, Membership, NoticeDelivery

Kind = NoticeDelivery.Kind

ICS_CONTENT_TYPE = "text/calendar"
PRODID = "-//Hubport//Maintenance windows//EN"

IMPACT_SENTENCES: dict[str, str] = {
    MaintenanceWindow.Impact.UNAVAILABLE: (
        "The portal and the API will be unavailable: requests answer 503 until the window ends."
    ),
    MaintenanceWindow.Impact.READ_ONLY: (
        "Your files can be read and downloaded, but not changed: uploads, moves and deletions wait until it ends."
    ),
    MaintenanceWindow.Impact.DEGRADED: "Everything keeps working, possibly more slowly.",
}

SUBJECT_WORDS = {
    Kind.ANNOUNCED: "Maintenance announced",
    Kind.REMINDER: "Maintenance tomorrow",
    Kind.CHANGED: "Maintenance changed",
    Kind.CANCELLED: "Maintenance cancelled",
    Kind.STARTED: "Maintenance has started",
    Kind.COMPLETED: "Maintenance completed",
}

OPENING_SENTENCES = {
    Kind.ANNOUNCED: "We have scheduled maintenance of the hub that keeps your company's files.",
    Kind.REMINDER: "A reminder: maintenance of your hub starts in about 24 hours.",
    Kind.CHANGED: "The maintenance we announced has changed. This is the window as it now stands.",
    Kind.CANCELLED: "The maintenance below is cancelled: it will not take place (or has been ended early).",
    Kind.STARTED: "The maintenance below has started.",
    Kind.COMPLETED: "The maintenance below is complete; the service is back to normal.",
}


# SECTION: iCalendar (RFC 5545)


def ics_escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, newlines as \\n."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def ics_fold(line: str) -> str:
    """Fold a content line to 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)


def ics_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_uid(window: MaintenanceWindow) -> str:
    host = settings.HUBPORT_BASE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "hubport"
    return f"maintenance-{window.pk}@{host}"


def window_event_lines(window: MaintenanceWindow, *, hubs: Sequence[Hub], stamp: datetime) -> list[str]:
    cancelled = window.state == MaintenanceWindow.State.CANCELLED
    summary = ("Emergency maintenance: " if window.is_emergency else "Maintenance: ") + window.title
    hub_list = ", ".join(f"{hub.code} ({hub.city})" for hub in hubs)
    description = "\n".join(
        part
        for part in (
            f"Hubport maintenance of hub {hub_list}.",
            IMPACT_SENTENCES[MaintenanceWindow.Impact(window.impact)],
            window.description,
            f"Emergency: {window.emergency_reason}" if window.is_emergency else "",
            f"Status: {absolute_url('status')}",
        )
        if part
    )
    return [
        "BEGIN:VEVENT",
        f"UID:{ics_uid(window)}",
        f"SEQUENCE:{window.revision}",
        f"DTSTAMP:{ics_time(stamp)}",
        f"DTSTART:{ics_time(window.starts_at)}",
        f"DTEND:{ics_time(window.ends_at)}",
        f"SUMMARY:{ics_escape(summary)}",
        f"DESCRIPTION:{ics_escape(description)}",
        f"URL:{absolute_url('status')}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "CATEGORIES:MAINTENANCE",
        "END:VEVENT",
    ]


def ics_calendar(
    windows: Iterable[MaintenanceWindow],
    *,
    method: str = "PUBLISH",
    name: str = "Hubport maintenance",
    stamp: datetime | None = None,
) -> str:
    """A VCALENDAR of the windows (their ``hubs`` preferably prefetched)."""
    stamp = stamp or timezone.now()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        f"X-WR-CALNAME:{ics_escape(name)}",
    ]
    for window in windows:
        lines.extend(window_event_lines(window, hubs=list(window.hubs.all()), stamp=stamp))
    lines.append("END:VCALENDAR")
    return "".join(ics_fold(line) + "\r\n" for line in lines)


# SECTION: the email


def local_range(window: MaintenanceWindow, hub: Hub) -> str:
    return f"{format_local(window.starts_at, hub.zone)} to {format_local(window.ends_at, hub.zone)} ({hub.time_zone})"


def notice_hubs_of(*, window: MaintenanceWindow, user_id: int) -> list[Hub]:
    """The window's hubs in which the person administers a tenant (all of them if none any more)."""
    hubs = list(window.hubs.all())
    codes = set(
        Membership.objects.filter(
            user_id=user_id,
            tenant__hub_id__in=[hub.code for hub in hubs],
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
        ).values_list("tenant__hub_id", flat=True)
    )
    return [hub for hub in hubs if hub.code in codes] or hubs


def notice_email(*, delivery: NoticeDelivery) -> EmailMessage:
    """The email for one delivery."""
    window = delivery.window
    hubs = notice_hubs_of(window=window, user_id=delivery.user_id)
    kind = Kind(delivery.kind)
    flag = "EMERGENCY " if window.is_emergency else ""
    subject = f"Hubport: {flag}{SUBJECT_WORDS[kind]}: {window.title} ({format_utc(window.starts_at)})"
    lines = [OPENING_SENTENCES[kind], ""]
    if window.is_emergency:
        lines += [f"This is EMERGENCY maintenance, at short notice. Reason: {window.emergency_reason}", ""]
    lines += [f"  {window.title}", ""]
    for hub in hubs:
        lines.append(f"  Hub {hub.code}, {hub.label}, local time: {local_range(window, hub)}")
    lines.append(f"  UTC: {format_utc(window.starts_at)} to {format_utc(window.ends_at)}")
    lines += ["", f"  Impact: {window.get_impact_display()}. {IMPACT_SENTENCES[window.impact]}"]
    if window.description:
        lines += ["", window.description]
    if kind == Kind.CANCELLED and window.cancel_reason:
        lines += ["", f"Why: {window.cancel_reason}"]
    lines += [
        "",
        f"Live status: {absolute_url('status')}",
        *[f"Calendar of hub {hub.code}: {absolute_url('status_calendar', code=hub.code)}" for hub in hubs],
        "",
        "You receive this because you are an owner or admin of a Hubport workspace in this hub.",
    ]
    message = EmailMessage(subject=subject, body="\n".join(lines), to=[delivery.email])
    if kind in (Kind.ANNOUNCED, Kind.REMINDER, Kind.CHANGED, Kind.CANCELLED):
        method = "CANCEL" if kind == Kind.CANCELLED else "PUBLISH"
        message.attach(f"maintenance-{window.pk}.ics", ics_calendar([window], method=method), ICS_CONTENT_TYPE)
    return message
