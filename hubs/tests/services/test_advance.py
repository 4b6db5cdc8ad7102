"""The minute's job: windows start and complete on time, reminders go out a
day ahead (once), and a delivery whose task was lost is queued again."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock

from django.core import mail

from conftest import all_databases
from hubs.models import NoticeDelivery
from hubs.services.advance import maintenance_advance
from hubs.tasks import maintenance_advance_task
from hubs.tests.windows import END, START, announce

pytestmark = all_databases


def test_reminder_start_and_completion_go_out_on_time_once_each(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    window = announce(django_capture_on_commit_callbacks)

    def advance_at(moment: datetime) -> None:
        frozen.move_to(moment)
        for _ in range(2):  # beat may run twice in the same minute
            with django_capture_on_commit_callbacks(execute=True):
                maintenance_advance_task()

    advance_at(START - timedelta(hours=24, minutes=1))
    assert not NoticeDelivery.objects.filter(kind="reminder").exists()
    advance_at(START - timedelta(hours=24))
    advance_at(START - timedelta(hours=23))
    window.refresh_from_db()
    assert window.state == "scheduled"
    advance_at(START)
    window.refresh_from_db()
    assert (window.state, window.started_at) == ("in_progress", START)
    advance_at(END - timedelta(seconds=1))
    advance_at(END)
    window.refresh_from_db()
    assert (window.state, window.completed_at) == ("completed", END)

    for user in (people["uk_owner"], people["uk_admin"], people["ae_owner"]):
        kinds = sorted(NoticeDelivery.objects.filter(user=user, state="sent").values_list("kind", flat=True))
        assert kinds == ["announced", "completed", "reminder", "started"]
    subjects = [message.subject for message in mail.outbox if message.to == ["owner@ae.test"]]
    assert [subject.split(":")[1].strip() for subject in subjects] == [
        "Maintenance announced",
        "Maintenance tomorrow",
        "Maintenance has started",
        "Maintenance completed",
    ]


def test_no_reminder_when_the_window_was_announced_within_the_last_day(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    frozen.move_to(START - timedelta(hours=3))
    announce(django_capture_on_commit_callbacks, emergency=True, emergency_reason="Disk controller failing")
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_advance_task()
    assert not NoticeDelivery.objects.filter(kind="reminder").exists()
    assert all("EMERGENCY" in message.subject for message in mail.outbox)
    assert "Reason: Disk controller failing" in mail.outbox[0].body


def test_a_delivery_whose_task_was_lost_is_queued_again(people, frozen, django_capture_on_commit_callbacks):
    # Not eager: the broker message goes nowhere, as if the broker had lost it.
    window = announce(django_capture_on_commit_callbacks, codes=("us",))
    frozen.shift(timedelta(minutes=16))
    with mock.patch("hubs.tasks.maintenance_notice_deliver_task.delay") as delay:
        counts = maintenance_advance_task()
    [delivery] = NoticeDelivery.objects.filter(window=window)
    assert counts["requeued"] == 1
    delay.assert_called_once_with(delivery_id=delivery.pk)


def test_the_job_writes_rows_and_returns_what_to_send_its_task_sends_it(
    people, frozen, django_capture_on_commit_callbacks
):
    window = announce(django_capture_on_commit_callbacks, codes=("us",))
    frozen.move_to(START)
    with mock.patch("hubs.tasks.maintenance_notice_deliver_task.delay") as delay:
        result = maintenance_advance()
    assert delay.call_count == 0, "the service queues nothing: hubs.tasks imports it"
    started = NoticeDelivery.objects.get(window=window, kind="started")
    announced = NoticeDelivery.objects.get(window=window, kind="announced")  # never sent: not eager
    assert (result.started, result.requeued) == ([window.pk], 1)
    assert sorted(result.deliveries) == sorted([started.pk, announced.pk])
    assert started.state == "pending"
