"""The emails of status subscriptions: the confirmation and the news.

Every news email carries its unsubscribe link in the text and in
``List-Unsubscribe`` with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058: a mail client's one-click POST to that URL unsubscribes). Only
public content: an incident's title, state and times, a public update's text;
never a probe's detail.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from hubs.formatting import format_local, format_utc
from hubs.links import absolute_url
from hubs.models import Hub, Incident, StatusDelivery
from hubs.status_links import ConfirmationRequest, confirmation_url, unsubscribe_url

Kind = StatusDelivery.Kind


def status_email(*, delivery: StatusDelivery) -> EmailMessage:
    if delivery.kind == Kind.CONFIRMATION:
        return _confirmation_email(delivery)
    return _news_email(delivery)


def _confirmation_email(delivery: StatusDelivery) -> EmailMessage:
    request = ConfirmationRequest(
        subscription_id=delivery.subscription_id,
        email=delivery.email,
        hub_codes=tuple(delivery.hub_codes),
        all_hubs=delivery.all_hubs,
    )
    hubs = "every hub" if delivery.all_hubs else ", ".join(_hub_names(delivery.hub_codes))
    body = "\n".join(
        [
            "Someone, probably you, asked for this address to receive Hubport's status updates",
            f"for {hubs}: incidents when they open, change and resolve, and planned maintenance.",
            "",
            "To confirm, open this link within 7 days:",
            confirmation_url(request),
            "",
            "If it was not you, ignore this email: nothing is sent to this address unless it is confirmed.",
            f"Status page: {absolute_url('status')}",
        ]
    )
    return EmailMessage(
        subject="Confirm your Hubport status subscription",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.email],
    )


def _hub_names(codes: list[str]) -> list[str]:
    hubs = {hub.code: hub for hub in Hub.objects.filter(code__in=codes)}
    return [f"{hubs[code].label} ({code})" if code in hubs else code for code in codes]


def _news_email(delivery: StatusDelivery) -> EmailMessage:
    leave = unsubscribe_url(subscription_id=delivery.subscription_id, email=delivery.email)
    if delivery.window_id is not None:
        subject, lines = _maintenance_lines(delivery)
    else:
        subject, lines = _incident_lines(delivery)
    body = "\n".join([*lines, "", f"Status page: {absolute_url('status')}", f"Unsubscribe: {leave}"])
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.email],
        headers={"List-Unsubscribe": f"<{leave}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def _incident_lines(delivery: StatusDelivery) -> tuple[str, list[str]]:
    incident = delivery.incident
    assert incident is not None  # a news delivery names its incident or its window
    hub = incident.hub
    where = f"hub {hub.code} ({hub.label})" if hub else "every hub"
    state = Incident.State(incident.state).label
    heading = {
        Kind.INCIDENT_OPENED: "Incident",
        Kind.INCIDENT_UPDATED: "Update",
        Kind.INCIDENT_RESOLVED: "Resolved",
    }.get(Kind(delivery.kind), "Update")
    lines = [
        f"{heading}: {incident.title}",
        f"Where: {where}",
        f"State: {state}",
        f"Since: {_moment(incident.opened_at, hub)}",
    ]
    if incident.resolved_at and incident.state == Incident.State.RESOLVED:
        lines.append(f"Resolved: {_moment(incident.resolved_at, hub)}")
    update = delivery.update
    if update is not None and update.public:
        lines += ["", update.body]
    return f"[Hubport {hub.code if hub else 'all hubs'}] {heading}: {incident.title}", lines


def _maintenance_lines(delivery: StatusDelivery) -> tuple[str, list[str]]:
    window = delivery.window
    assert window is not None
    codes = ", ".join(hub.code for hub in window.hubs.all())
    flag = "Emergency maintenance" if window.is_emergency else "Planned maintenance"
    lines = [
        f"{flag}: {window.title}",
        f"Hubs: {codes}",
        f"From {format_utc(window.starts_at)} to {format_utc(window.ends_at)}",
        f"Impact: {window.get_impact_display()}",
    ]
    if window.description:
        lines += ["", window.description]
    return f"[Hubport {codes}] {flag}: {window.title}", lines


def _moment(moment, hub: Hub | None) -> str:  # type: ignore[no-untyped-def]
    return format_local(moment, hub.zone) if hub else format_utc(moment)
