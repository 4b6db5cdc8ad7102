"""The notice outbox: every owner and admin of every tenant in an affected hub
is told, once per notice, with the window in their hub's local time and UTC;
a delivery is claimed once, and one whose task was lost is found again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from conftest import all_databases
from hubs.models import NoticeDelivery
from hubs.services.notices import notice_deliveries_lost, notice_delivery_claim
from hubs.tasks import maintenance_notice_deliver_task
from hubs.tests.windows import NOW, announce, outbox_by_recipient

pytestmark = all_databases


def test_every_owner_and_admin_in_the_affected_hubs_is_told_once(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    window = announce(django_capture_on_commit_callbacks)

    received = outbox_by_recipient()
    assert set(received) == {"owner@uk.test", "admin@uk.test", "owner@ae.test"}
    assert all(len(messages) == 1 for messages in received.values())
    deliveries = NoticeDelivery.objects.filter(window=window)
    assert {(d.email, d.kind, d.state, d.attempts) for d in deliveries} == {
        ("owner@uk.test", "announced", "sent", 1),
        ("admin@uk.test", "announced", "sent", 1),
        ("owner@ae.test", "announced", "sent", 1),
    }
    assert all(d.sent_at == NOW for d in deliveries)

    # The person in both hubs sees both local times, and UTC.
    body = received["owner@uk.test"][0].body
    assert "Hub uk, London, United Kingdom, local time: Sat 12 Dec 2026 09:00 +00 to Sat 12 Dec 2026 13:00 +00" in body
    assert (
        "Hub ae, Dubai, United Arab Emirates, local time: Sat 12 Dec 2026 13:00 +04 to Sat 12 Dec 2026 17:00 +04"
        in (body)
    )
    assert "UTC: Sat 12 Dec 2026 09:00 UTC to Sat 12 Dec 2026 13:00 UTC" in body
    ae_body = received["owner@ae.test"][0].body
    assert "Hub ae" in ae_body and "Hub uk" not in ae_body
    assert received["admin@uk.test"][0].subject.startswith("Hubport: Maintenance announced: Storage upgrade")


def test_delivering_twice_sends_nothing_more(people, frozen, eager_tasks, django_capture_on_commit_callbacks):
    window = announce(django_capture_on_commit_callbacks)
    sent = len(mail.outbox)
    for delivery in NoticeDelivery.objects.filter(window=window):
        assert maintenance_notice_deliver_task.apply(kwargs={"delivery_id": delivery.pk}).get() == "nothing to send"
    assert len(mail.outbox) == sent
    with pytest.raises(IntegrityError), transaction.atomic():
        delivery = NoticeDelivery.objects.filter(window=window).first()
        NoticeDelivery.objects.create(
            window=window, user=delivery.user, email=delivery.email, kind="announced", revision=window.revision
        )


def test_a_claim_is_taken_once_and_again_only_when_its_worker_is_presumed_dead(
    people, frozen, django_capture_on_commit_callbacks
):
    # Not eager: the deliveries stay pending, as if the broker were slow.
    window = announce(django_capture_on_commit_callbacks, codes=("us",))
    [delivery] = NoticeDelivery.objects.filter(window=window)
    assert notice_deliveries_lost() == []

    claimed = notice_delivery_claim(delivery_id=delivery.pk)
    assert (claimed.state, claimed.attempts) == ("sending", 1)
    assert notice_delivery_claim(delivery_id=delivery.pk) is None, "another worker is on it"

    frozen.shift(timedelta(minutes=15))
    assert notice_deliveries_lost() == [delivery.pk]
    again = notice_delivery_claim(delivery_id=delivery.pk)
    assert (again.state, again.attempts) == ("sending", 2)
    assert notice_delivery_claim(delivery_id=delivery.pk + 1000) is None, "gone"
