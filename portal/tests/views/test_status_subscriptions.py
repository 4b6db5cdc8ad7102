"""Status subscriptions end to end: the form, the confirmation at a real SMTP
server, the signed links, the notification of an incident with its unsubscribe
link and List-Unsubscribe headers, and the refusals (tampered, expired,
throttled, unknown hubs, another hub's news)."""

from __future__ import annotations

import re
import time as wall_time
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from hubs.models import Incident, StatusDelivery, StatusSubscription
from hubs.services.incidents import Observation, incident_update_add, incidents_observe
from hubs.services.status_subscriptions import (
    confirmation_request_for,
    status_subscribe,
    status_subscription_confirm,
)
from hubs.status_emails import status_email
from hubs.status_links import confirmation_token, unsubscribe_token
from hubs.tests.test_tasks import RecordingHandler, smtp_server  # noqa: F401 - the fixture

pytestmark = all_databases

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LINK = re.compile(r"https?://\S+")


def failing_rounds(hub: str, count: int = 2, start: datetime = T0) -> list:
    """Rounds of a critical storage probe failing in ``hub``: two open an incident."""
    return [
        incidents_observe(
            observations=[
                Observation(
                    hub_code=hub, name="storage.primary.round_trip", component="storage.primary",
                    severity="critical", ok=False, detail="OSError", at=start + timedelta(minutes=i),
                )
            ],
            now=start + timedelta(minutes=i),
        )
        for i in range(count)
    ]  # fmt: skip


def wait_for_messages(handler: RecordingHandler, count: int, timeout: float = 30) -> list[Message]:
    deadline = wall_time.monotonic() + timeout
    while wall_time.monotonic() < deadline:
        with handler.lock:
            if len(handler.messages) >= count:
                return list(handler.messages)
        wall_time.sleep(0.05)
    raise AssertionError(f"{count} messages expected, {len(handler.messages)} arrived")


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def confirmed(email: str, codes: list[str], all_hubs: bool = False) -> StatusSubscription:
    delivery = status_subscribe(email=email, hub_codes=codes, all_hubs=all_hubs)
    assert delivery is not None
    return status_subscription_confirm(token=confirmation_token(confirmation_request_for(delivery)))


# SECTION: the whole flow, through a real worker and a real SMTP server


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_subscribe_confirm_notify_and_unsubscribe_end_to_end(celery_worker, smtp_server):  # noqa: F811
    browser = Client()
    response = browser.post(reverse("status_subscribe"), {"email": "Ops@Example.test", "hubs": ["uk"]})
    assert response.status_code == 200
    assert "a link to confirm the subscription is on its way" in response.content.decode()

    [confirmation] = wait_for_messages(smtp_server, 1)
    assert confirmation["To"] == "ops@example.test"
    [confirm_url] = [url for url in LINK.findall(body_of(confirmation)) if "/confirm/" in url]
    # Following the link shows a page; only its button confirms (link scanners fetch links).
    assert browser.get(path_of(confirm_url)).status_code == 200
    assert StatusSubscription.objects.get().state == "pending"
    assert browser.post(path_of(confirm_url)).status_code == 200
    subscription = StatusSubscription.objects.get()
    assert (subscription.state, [hub.code for hub in subscription.hubs.all()]) == ("active", ["uk"])

    failing_rounds("uk")
    incident = Incident.objects.get(hub_id="uk")
    [_, news] = wait_for_messages(smtp_server, 2)
    assert incident.title in news["Subject"].replace("\r\n", "")
    text = body_of(news)
    assert "State: Investigating" in text and "OSError" not in text, "no probe details to subscribers"
    leave = news["List-Unsubscribe"].replace("\r\n", "").strip().strip("<>")
    assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {leave}" in text

    assert browser.get(path_of(leave)).status_code == 200
    assert StatusSubscription.objects.get().state == "active", "a GET never unsubscribes"
    # RFC 8058: the mail client's one-click POST, with no CSRF token.
    one_click = Client(enforce_csrf_checks=True)
    response = one_click.post(path_of(leave), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert StatusSubscription.objects.get().state == "unsubscribed"


# SECTION: abuse and refusals


def test_a_resubscription_storm_sends_one_confirmation_per_ten_minutes(client):
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(5):
            response = client.post(reverse("status_subscribe"), {"email": "a@example.test", "hubs": ["uk", "de"]})
            assert response.status_code == 200
        assert StatusDelivery.objects.filter(kind="confirmation").count() == 1
        traveller.shift(timedelta(minutes=10, seconds=1))
        client.post(reverse("status_subscribe"), {"email": "A@example.test", "all_hubs": "on"})
    assert StatusDelivery.objects.filter(kind="confirmation").count() == 2
    assert StatusSubscription.objects.count() == 1


def test_the_answer_never_says_whether_an_address_is_subscribed(client):
    confirmed("known@example.test", ["uk"])
    known = client.post(reverse("status_subscribe"), {"email": "known@example.test", "hubs": ["uk"]})
    fresh = client.post(reverse("status_subscribe"), {"email": "fresh@example.test", "hubs": ["uk"]})
    assert known.status_code == fresh.status_code == 200

    def main(response) -> str:  # type: ignore[no-untyped-def]
        return response.content.decode().split('<main id="main"')[1].split("</main>")[0]

    assert main(known).replace("known", "X") == main(fresh).replace("fresh", "X")


def test_unknown_hubs_and_no_hub_are_refused_with_a_clear_form_error(client):
    response = client.post(reverse("status_subscribe"), {"email": "a@example.test", "hubs": ["zz"]})
    assert response.status_code == 400
    assert "There is no hub zz" in response.content.decode()
    response = client.post(reverse("status_subscribe"), {"email": "a@example.test"})
    assert response.status_code == 400
    assert "Choose at least one hub, or all hubs." in response.content.decode()
    assert not StatusSubscription.objects.exists()


def test_a_resubscription_changes_nothing_until_it_is_confirmed():
    subscription = confirmed("a@example.test", ["uk"])
    with time_machine.travel(timedelta(minutes=11)):
        delivery = status_subscribe(email="a@example.test", hub_codes=["de"], all_hubs=False)
    assert delivery is not None
    assert [hub.code for hub in subscription.hubs.all()] == ["uk"]
    status_subscription_confirm(token=confirmation_token(confirmation_request_for(delivery)))
    assert [hub.code for hub in subscription.hubs.all()] == ["de"]


def test_tampered_and_expired_links_are_refused_cleanly(client):
    with time_machine.travel(T0, tick=False):
        delivery = status_subscribe(email="a@example.test", hub_codes=["uk"], all_hubs=False)
        assert delivery is not None
        token = confirmation_token(confirmation_request_for(delivery))
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for method in (client.get, client.post):
        response = method(reverse("status_subscribe_confirm", args=[tampered]))
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    with time_machine.travel(T0 + timedelta(days=7, minutes=1), tick=False):
        response = client.post(reverse("status_subscribe_confirm", args=[token]))
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert StatusSubscription.objects.get().state == "pending"
    leave = unsubscribe_token(subscription_id=delivery.subscription_id, email="a@example.test")
    response = client.post(reverse("status_unsubscribe", args=[leave + "x"]))
    assert response.status_code == 400
    # A confirmation link is not an unsubscribe link, nor the other way round.
    assert client.post(reverse("status_unsubscribe", args=[token])).status_code == 400
    assert client.post(reverse("status_subscribe_confirm", args=[leave])).status_code == 400


# SECTION: who is told what


def test_a_subscriber_of_one_hub_is_not_told_about_another(django_capture_on_commit_callbacks):
    uk_only = confirmed("uk@example.test", ["uk"])
    everything = confirmed("all@example.test", [], all_hubs=True)
    failing_rounds("de")
    told = set(StatusDelivery.objects.exclude(kind="confirmation").values_list("subscription_id", flat=True))
    assert told == {everything.pk}
    failing_rounds("uk", start=T0 + timedelta(minutes=5))
    told = set(
        StatusDelivery.objects.filter(kind="incident_opened", incident__hub_id="uk").values_list(
            "subscription_id", flat=True
        )
    )
    assert told == {uk_only.pk, everything.pk}


def test_public_updates_are_told_with_their_text_and_private_ones_are_not(admin_user):
    confirmed("uk@example.test", ["uk"])
    failing_rounds("uk")
    incident = Incident.objects.get()
    incident_update_add(
        incident=incident, state="identified", body="Internal: disk 7", public=False, acting_user=admin_user
    )
    incident_update_add(
        incident=incident, state="monitoring", body="A fix is in place.", public=True, acting_user=admin_user
    )
    incident_update_add(incident=incident, state="resolved", body="Done.", public=False, acting_user=admin_user)
    kinds = list(StatusDelivery.objects.exclude(kind="confirmation").order_by("pk").values_list("kind", flat=True))
    assert kinds == ["incident_opened", "incident_updated", "incident_resolved"]
    bodies = [status_email(delivery=d).body for d in StatusDelivery.objects.exclude(kind="confirmation")]
    assert any("A fix is in place." in body for body in bodies)
    assert not any("disk 7" in body or "Done." in body for body in bodies)


def test_unsubscribed_addresses_are_told_nothing_more():
    subscription = confirmed("uk@example.test", ["uk"])
    leave = unsubscribe_token(subscription_id=subscription.pk, email=subscription.email)
    Client().post(reverse("status_unsubscribe", args=[leave]))
    failing_rounds("uk")
    assert not StatusDelivery.objects.exclude(kind="confirmation").exists()


def test_the_status_page_links_to_the_subscription_form(client):
    response = client.get(reverse("status"))
    assert reverse("status_subscribe") in response.content.decode()
    assert client.get(reverse("status_subscribe")).status_code == 200


def test_an_announced_window_is_told_to_its_hubs_subscribers():
    from hubs.tests.windows import NOW, schedule

    with time_machine.travel(NOW, tick=False):
        uk_only = confirmed("uk@example.test", ["uk"])
        confirmed("de@example.test", ["de"])
        window = schedule("uk")
    [delivery] = StatusDelivery.objects.filter(kind="maintenance")
    assert (delivery.subscription_id, delivery.window_id) == (uk_only.pk, window.pk)
    message = status_email(delivery=delivery).message()
    assert "Storage upgrade" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
