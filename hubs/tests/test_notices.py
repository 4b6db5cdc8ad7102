"""What customers are told: the calendar text (RFC 5545) of a window."""

from __future__ import annotations

from conftest import all_databases
from hubs.models import Hub, MaintenanceWindow
from hubs.notices import ics_calendar, ics_fold
from hubs.tests.windows import END, NOW, START, ics_values

pytestmark = all_databases


def test_ics_escapes_and_folds_long_lines_without_splitting_characters(frozen, db):
    window = MaintenanceWindow.objects.create(
        title="Größere Wartung; Speicher, Netz \\ Router " + "ü" * 60,
        description="Line one\nLine two",
        starts_at=START,
        ends_at=END,
        announced_at=NOW,
    )
    window.hubs.set(Hub.objects.filter(code="de"))
    text = ics_calendar([window])
    [summary] = ics_values(text, "SUMMARY")
    assert summary.startswith("Maintenance: Größere Wartung\\; Speicher\\, Netz \\\\ Router ")
    [description] = ics_values(text, "DESCRIPTION")
    assert "Line one\\nLine two" in description
    assert ics_values(text, "DTSTART") == ["20261212T090000Z"]
    assert all(part.encode("utf-8") for part in ics_fold("ü" * 100).split("\r\n"))
