"""Scheduling, changing and cancelling maintenance windows through the
service: malformed windows, what a change needs, cancellation, emergencies,
the staff audit entry of each, and the notices each sends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from conftest import all_databases
from hubs.errors import MaintenanceRefused
from hubs.models import Hub, MaintenanceWindow, NoticeDelivery, StaffAuditEntry
from hubs.services.maintenance import (
    maintenance_cancel,
    maintenance_change,
    maintenance_schedule,
)
from hubs.tests.windows import END, NOW, announce, hubs, ics_values, outbox_by_recipient, refusal, schedule, utc

pytestmark = all_databases


def test_malformed_windows_are_refused_with_what_to_change(frozen):
    assert refusal("uk", utc(2026, 12, 12, 13), utc(2026, 12, 12, 9)) == (
        "The end, Sat 12 Dec 2026 09:00 UTC, must be after the start, Sat 12 Dec 2026 13:00 UTC."
    )
    with pytest.raises(MaintenanceRefused, match="Choose at least one hub"):
        maintenance_schedule(hubs=[], title="x", starts_at=utc(2026, 12, 12, 9), ends_at=utc(2026, 12, 12, 10))
    with pytest.raises(MaintenanceRefused, match="title"):
        maintenance_schedule(hubs=hubs("uk"), title=" ", starts_at=utc(2026, 12, 12, 9), ends_at=utc(2026, 12, 12, 10))
    assert not MaintenanceWindow.objects.exists()


# SECTION: changes and cancellation


def test_moving_later_or_shortening_needs_no_new_notice_but_earlier_or_longer_does(frozen):
    window = schedule("uk", utc(2026, 12, 12, 9), utc(2026, 12, 12, 13))
    frozen.move_to(utc(2026, 12, 8, 12))  # four days before: the notice is no longer five days

    later = maintenance_change(window=window, starts_at=utc(2026, 12, 12, 10), ends_at=utc(2026, 12, 12, 14))
    assert (later.revision, later.announced_at) == (2, NOW), "moving later keeps the first announcement"
    shorter = maintenance_change(window=window, ends_at=utc(2026, 12, 12, 12))
    assert (shorter.revision, shorter.ends_at) == (3, utc(2026, 12, 12, 12))

    with pytest.raises(MaintenanceRefused) as earlier:
        maintenance_change(window=window, starts_at=utc(2026, 12, 12, 8), ends_at=utc(2026, 12, 12, 12))
    assert "must start on or after Sun 13 Dec 2026 12:00 +00 to give 5 days' notice" in str(earlier.value)
    with pytest.raises(MaintenanceRefused, match="5 days' notice"):
        maintenance_change(window=window, ends_at=utc(2026, 12, 12, 15))
    with pytest.raises(MaintenanceRefused, match="5 days' notice"):
        maintenance_change(window=window, hubs=hubs("uk", "de"))
    with pytest.raises(MaintenanceRefused, match="is not at the weekend there"):
        maintenance_change(window=window, starts_at=utc(2026, 12, 15, 10), ends_at=utc(2026, 12, 15, 12))

    window.refresh_from_db()
    assert (window.starts_at, window.ends_at, window.revision) == (utc(2026, 12, 12, 10), utc(2026, 12, 12, 12), 3)
    kinds = set(NoticeDelivery.objects.filter(window=window).values_list("kind", "revision"))
    assert kinds <= {("announced", 1), ("changed", 2), ("changed", 3)}


def test_moving_earlier_with_enough_notice_is_a_new_announcement(frozen):
    window = schedule("uk", utc(2026, 12, 19, 9), utc(2026, 12, 19, 13))
    frozen.move_to(utc(2026, 11, 30, 9))
    moved = maintenance_change(window=window, starts_at=utc(2026, 12, 12, 9), ends_at=utc(2026, 12, 12, 13))
    assert moved.announced_at == utc(2026, 11, 30, 9)
    assert moved.changed_at == utc(2026, 11, 30, 9)


def test_raising_the_impact_is_a_new_announcement_lowering_it_is_not(frozen):
    window = schedule("uk", impact="degraded")
    frozen.move_to(utc(2026, 12, 10, 9))
    with pytest.raises(MaintenanceRefused, match="5 days' notice"):
        maintenance_change(window=window, impact="read_only")
    window = schedule("uk", impact="unavailable", now=NOW)
    assert maintenance_change(window=window, impact="degraded").impact == "degraded"


def test_a_change_that_changes_nothing_is_not_announced(frozen):
    window = schedule("uk")
    same = maintenance_change(window=window, title="Storage upgrade", starts_at=window.starts_at)
    assert same.revision == 1
    assert not StaffAuditEntry.objects.filter(action="maintenancewindow.change").exists()


def test_cancelling_is_always_allowed_and_announced(frozen):
    window = schedule("uk")
    frozen.move_to(utc(2026, 12, 12, 10))  # running
    cancelled = maintenance_cancel(window=window, reason="Not needed after all")
    assert (cancelled.state, cancelled.cancel_reason, cancelled.revision) == ("cancelled", "Not needed after all", 2)
    assert StaffAuditEntry.objects.get(action="maintenancewindow.cancel").reason == "Not needed after all"
    with pytest.raises(MaintenanceRefused, match="nothing to cancel"):
        maintenance_cancel(window=window)
    with pytest.raises(MaintenanceRefused, match="can no longer be changed"):
        maintenance_change(window=window, title="Other")


def test_a_running_window_may_end_earlier_but_not_later_or_move(frozen):
    window = schedule("uk")
    frozen.move_to(utc(2026, 12, 12, 10))
    assert maintenance_change(window=window, ends_at=utc(2026, 12, 12, 11)).ends_at == utc(2026, 12, 12, 11)
    with pytest.raises(MaintenanceRefused, match="is running; extending it"):
        maintenance_change(window=window, ends_at=utc(2026, 12, 12, 15))
    with pytest.raises(MaintenanceRefused, match="its start can no longer be moved"):
        maintenance_change(window=window, starts_at=utc(2026, 12, 12, 10, 30))
    longer = maintenance_change(
        window=window, ends_at=utc(2026, 12, 12, 15), emergency=True, emergency_reason="Array rebuild is slower"
    )
    assert longer.is_emergency and longer.ends_at == utc(2026, 12, 12, 15)


def test_changes_and_cancellation_are_announced_with_calendar_updates(
    people, frozen, eager_tasks, django_capture_on_commit_callbacks
):
    window = announce(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_change(window=window, hubs=list(Hub.objects.filter(code="uk")), ends_at=END - timedelta(hours=1))
    received = outbox_by_recipient()
    assert set(received) == {"owner@uk.test", "admin@uk.test", "owner@ae.test"}, "ae's owner hears it no longer applies"
    change = received["admin@uk.test"][0]
    assert change.subject.startswith("Hubport: Maintenance changed")
    [(name, ics, mimetype)] = change.attachments
    assert (name, mimetype) == (f"maintenance-{window.pk}.ics", "text/calendar")
    assert ics_values(ics, "SEQUENCE") == ["2"] and ics_values(ics, "DTEND") == ["20261212T120000Z"]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_cancel(window=window, reason="Supplier delay")
    received = outbox_by_recipient()
    assert set(received) == {"owner@uk.test", "admin@uk.test"}
    cancel = received["owner@uk.test"][0]
    assert "Why: Supplier delay" in cancel.body
    [(_, ics, _)] = cancel.attachments
    assert ics_values(ics, "METHOD") == ["CANCEL"] and ics_values(ics, "STATUS") == ["CANCELLED"]
    assert ics_values(ics, "UID") == [f"maintenance-{window.pk}@127.0.0.1"]


# SECTION: emergencies


def test_an_emergency_needs_a_written_reason(frozen):
    tomorrow = (utc(2026, 11, 30, 14), utc(2026, 11, 30, 15))  # a Monday, tomorrow
    assert "only with a written reason" in refusal("uk", *tomorrow, emergency=True)
    assert "only with a written reason" in refusal("uk", *tomorrow, emergency=True, emergency_reason="   ")
    assert not StaffAuditEntry.objects.filter(action__startswith="maintenancewindow").exists()


def test_an_emergency_with_a_reason_bypasses_the_rules_is_flagged_and_audited(frozen):
    actor = get_user_model().objects.create_user(
        username="duty@hubport.test", email="duty@hubport.test", password="x-long-pass"
    )
    window = schedule(
        "uk,ae",
        utc(2026, 11, 30, 14),
        utc(2026, 11, 30, 15),
        emergency=True,
        emergency_reason="Firmware fix for a failing RAID controller",
        acting_user=actor,
    )
    assert window.is_emergency and window.emergency_reason == "Firmware fix for a failing RAID controller"
    assert str(window).startswith("EMERGENCY ")
    entry = StaffAuditEntry.objects.get(action="maintenancewindow.emergency_schedule")
    assert (entry.actor, entry.reason, entry.target_id) == (actor, window.emergency_reason, str(window.pk))


def test_an_ordinary_window_is_audited_too(frozen):
    window = schedule("uk")
    entry = StaffAuditEntry.objects.get(action="maintenancewindow.schedule")
    assert entry.target_id == str(window.pk) and entry.reason == ""
