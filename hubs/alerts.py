"""What the duty engineer is told: the alert emails, the signed webhook bodies,
the signed acknowledge links, and the incident's timeline for the admin.

Everything here reads; nothing writes a row or queues a task. An alert names
the hub, the component, the probes and their details (ids, never a customer's
file name), the times in UTC and in the hub's zone, who was paged, and who
acknowledged.

The acknowledge link is ``django.core.signing`` over ``{"i": incident id, "u":
user id}`` with its own salt, valid ``HUBPORT_ALERT_ACK_LINK_HOURS`` (24 by
default): the token names the staff user it was sent to and is the authority
for that one action on that one incident (no session needed, as PagerDuty's
email links work from a phone); it can acknowledge, never resolve or change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.html import escape, format_html

from hubs.errors import AlertLinkInvalid
from hubs.formatting import format_local, format_utc
from hubs.links import absolute_url
from hubs.models import AlertDelivery, Incident, IncidentPaging, ProbeFlip, ProbeResult

Event = AlertDelivery.Event

ACK_SALT = "hubport.alerts.acknowledge"
SIGNATURE_HEADER = "X-Hubport-Signature"

EVENT_WORDS = {
    Event.OPENED: "Incident opened",
    Event.ACKNOWLEDGED: "Incident acknowledged",
    Event.ESCALATED: "ESCALATED, unacknowledged",
    Event.RESOLVED: "Incident resolved",
}


# SECTION: the signed acknowledge link


def ack_link_hours() -> int:
    return int(getattr(settings, "HUBPORT_ALERT_ACK_LINK_HOURS", 24))


def acknowledge_token_make(*, incident_id: int, user_id: int) -> str:
    return signing.dumps({"i": incident_id, "u": user_id}, salt=ACK_SALT, compress=False)


def acknowledge_token_read(token: str) -> tuple[int, int]:
    """(incident id, user id) of a valid, unexpired token; ``AlertLinkInvalid`` otherwise."""
    try:
        value = signing.loads(token, salt=ACK_SALT, max_age=ack_link_hours() * 3600)
    except signing.SignatureExpired as exc:
        raise AlertLinkInvalid(
            f"This acknowledge link has expired (links last {ack_link_hours()} hours). "
            "Acknowledge the incident in the admin instead."
        ) from exc
    except signing.BadSignature as exc:
        raise AlertLinkInvalid("This acknowledge link is not valid: it was changed or cut short.") from exc
    if not isinstance(value, dict) or not isinstance(value.get("i"), int) or not isinstance(value.get("u"), int):
        raise AlertLinkInvalid("This acknowledge link is not valid.")
    return value["i"], value["u"]


def acknowledge_url(*, incident_id: int, user_id: int) -> str:
    return absolute_url("incident_acknowledge", token=acknowledge_token_make(incident_id=incident_id, user_id=user_id))


def incident_admin_url(incident: Incident) -> str:
    return absolute_url("admin:hubs_incident_change", incident.pk)


# SECTION: what an alert says


@dataclass(frozen=True)
class AlertFacts:
    """The lines every alert shares, in the order a person woken at night reads them."""

    headline: str
    lines: list[tuple[str, str]]


def _moment(moment: datetime, incident: Incident) -> str:
    utc = format_utc(moment)
    return f"{utc} ({format_local(moment, incident.hub.zone)}, {incident.hub.time_zone})" if incident.hub else utc


def _people(user_ids: list[int]) -> str:
    users = get_user_model().objects.filter(pk__in=user_ids).order_by("pk")
    return ", ".join(user.email or user.get_username() for user in users) or "nobody (no one on call)"


def alert_facts(incident: Incident, *, event: str) -> AlertFacts:
    where = f"Hub {incident.hub.code}, {incident.hub.label}" if incident.hub else "Control plane"
    paging = IncidentPaging.objects.filter(incident=incident).first()
    lines = [
        ("What broke", f"{incident.component} ({incident.get_severity_display().lower()})"),
        ("Where", where),
        ("Since", _moment(incident.opened_at, incident)),
        ("State", incident.get_state_display()),
        ("Affected probes", ", ".join(incident.affected) or "none named (opened by staff)"),
    ]
    latest: dict[str, ProbeResult] = {}
    for result in ProbeResult.objects.filter(hub=incident.hub, name__in=incident.affected, ok=False).order_by("-at")[
        :50
    ]:
        latest.setdefault(result.name, result)
    for name, result in sorted(latest.items()):
        lines.append((f"Probe {name}", f"failed at {format_utc(result.at)}: {result.detail or 'no detail'}"))
    if paging is not None:
        lines.append(("Paged", _people(paging.paged_user_ids)))
        if paging.policy_name:
            lines.append(
                ("Escalation policy", f"{paging.policy_name}, step {paging.step + 1}, pass {paging.cycle + 1}")
            )
    if incident.acknowledged_at:
        who = incident.acknowledged_by.email if incident.acknowledged_by else "someone"
        lines.append(("Acknowledged", f"by {who} at {_moment(incident.acknowledged_at, incident)}"))
    else:
        lines.append(("Acknowledged", "not yet"))
    if incident.resolved_at:
        lines.append(("Resolved", _moment(incident.resolved_at, incident)))
    return AlertFacts(headline=f"{EVENT_WORDS[Event(event)]}: {incident.title}", lines=lines)


def alert_subject(incident: Incident, *, event: str) -> str:
    where = f"hub {incident.hub.code} ({incident.hub.city})" if incident.hub else "control plane"
    return f"[Hubport] {EVENT_WORDS[Event(event)]}: {where}, {incident.component}, {incident.get_state_display()}"


def alert_email(*, delivery: AlertDelivery) -> EmailMultiAlternatives:
    """The email of one delivery: plain text and the same in HTML."""
    incident = delivery.incident
    facts = alert_facts(incident, event=delivery.event)
    links: list[tuple[str, str]] = []
    can_ack = (
        delivery.user_id is not None
        and incident.acknowledged_at is None
        and incident.state != Incident.State.RESOLVED
        and delivery.event in (Event.OPENED, Event.ESCALATED)
    )
    if can_ack:
        assert delivery.user_id is not None
        links.append(
            (
                f"Acknowledge (stops the escalation; link for you only, valid {ack_link_hours()} h)",
                acknowledge_url(incident_id=incident.pk, user_id=delivery.user_id),
            )
        )
    links.append(("Incident in the admin", incident_admin_url(incident)))
    text = "\n".join(
        [
            facts.headline,
            "",
            *[f"{label}: {value}" for label, value in facts.lines],
            "",
            *[f"{label}:\n{url}" for label, url in links],
            "",
            "You receive this because you are on call for Hubport or were paged by its escalation policy.",
        ]
    )
    html = (
        format_html("<h2>{}</h2>", facts.headline)
        + "<table>"
        + "".join(str(format_html("<tr><th align='left'>{}</th><td>{}</td></tr>", k, v)) for k, v in facts.lines)
        + "</table>"
        + "".join(str(format_html('<p><a href="{}">{}</a></p>', url, label)) for label, url in links)
        + "<p>"
        + escape("You receive this because you are on call for Hubport or were paged by its escalation policy.")
        + "</p>"
    )
    message = EmailMultiAlternatives(
        subject=alert_subject(incident, event=delivery.event), body=text, to=[delivery.recipient]
    )
    message.attach_alternative(f"<html><body>{html}</body></html>", "text/html")
    return message


# SECTION: webhooks


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def webhook_payload(*, delivery: AlertDelivery, sent_at: datetime) -> dict[str, Any]:
    incident = delivery.incident
    return {
        "event": delivery.event,
        "incident": {
            "id": incident.pk,
            "hub": incident.hub_id,
            "component": incident.component,
            "severity": incident.severity,
            "state": incident.state,
            "title": incident.title,
            "opened_at": _iso(incident.opened_at),
            "acknowledged_at": _iso(incident.acknowledged_at),
            "resolved_at": _iso(incident.resolved_at),
            "admin_url": incident_admin_url(incident),
        },
        "sent_at": _iso(sent_at),
    }


def webhook_signature(body: bytes, *, secret: str | None = None) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body with HUBPORT_ALERT_WEBHOOK_SECRET."""
    key = (secret if secret is not None else getattr(settings, "HUBPORT_ALERT_WEBHOOK_SECRET", "")).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def webhook_post(*, delivery: AlertDelivery) -> int:
    """POST the event to the delivery's URL; the status on 2xx, an exception otherwise."""
    url = delivery.recipient
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("A webhook URL must be http:// or https://.")
    body = json.dumps(webhook_payload(delivery=delivery, sent_at=timezone.now()), separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Hubport-Alerts/1",
            "X-Hubport-Event": delivery.event,
            "X-Hubport-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: webhook_signature(body),
        },
    )
    timeout = float(getattr(settings, "HUBPORT_ALERT_WEBHOOK_TIMEOUT_SECONDS", 10))
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
        status = int(response.status)
    if not 200 <= status < 300:
        raise OSError(f"Webhook answered HTTP {status}")
    return status


def alert_delivery_send(*, delivery: AlertDelivery) -> None:
    """Send one delivery on its channel; raises on any failure (the task records it)."""
    if delivery.channel == AlertDelivery.Channel.WEBHOOK:
        webhook_post(delivery=delivery)
    else:
        alert_email(delivery=delivery).send(fail_silently=False)


# SECTION: the timeline (admin)


# An incident opens after consecutive failed rounds (a minute apart): its first
# flip is a few minutes older than it.
FLIPS_BEFORE_OPENING = timedelta(minutes=10)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str


def incident_timeline(incident: Incident) -> list[TimelineEntry]:
    """Updates (escalations among them), the affected probes' flips, the
    acknowledgement and alerts, oldest first."""
    entries = [
        TimelineEntry(
            update.at,
            "update",
            f"{update.get_state_display()}{' (public)' if update.public else ''}: {update.body}",
        )
        for update in incident.updates.all()
    ]
    if incident.acknowledged_at:
        who = incident.acknowledged_by.email if incident.acknowledged_by else "someone"
        entries.append(TimelineEntry(incident.acknowledged_at, "acknowledged", f"Acknowledged by {who}"))
    for alert in AlertDelivery.objects.filter(incident=incident).order_by("created_at", "pk"):
        state = alert.get_state_display().lower()
        when = alert.sent_at or alert.created_at
        tries = f", {alert.attempts} attempt{'s' if alert.attempts != 1 else ''}" if alert.attempts else ""
        error = f": {alert.last_error[:120]}" if alert.last_error and alert.state != AlertDelivery.State.SENT else ""
        entries.append(
            TimelineEntry(
                when, "alert", f"{alert.event} by {alert.channel} to {alert.recipient}: {state}{tries}{error}"
            )
        )
    # The flips that led to it (its first failures came rounds before it opened)
    # and happened while it lasted.
    flips = ProbeFlip.objects.filter(
        hub_id=incident.hub_id,
        name__in=list(incident.affected or []),
        at__gte=incident.opened_at - FLIPS_BEFORE_OPENING,
        at__lte=incident.resolved_at or timezone.now(),
    ).order_by("at", "pk")
    for flip in flips:
        entries.append(TimelineEntry(flip.at, "flip", f"{flip.name} {'passing' if flip.ok else 'failing'}"))
    return sorted(entries, key=lambda entry: entry.at)
