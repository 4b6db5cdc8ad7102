"""manage.py schedule_maintenance: prints the new window's id, or exits
non-zero printing the refusal, under the same rules as the admin and the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from conftest import all_databases
from hubs.models import MaintenanceWindow, StaffAuditEntry

pytestmark = all_databases

NOW = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def run(*arguments: str) -> tuple[int, str, str]:
    """Run the command as the shell would: its exit status, stdout and stderr."""
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("schedule_maintenance", *arguments, stdout=stdout, stderr=stderr)
    except SystemExit as exit_:
        return int(exit_.code or 0), stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


def test_prints_the_new_windows_id():
    arguments = ["--hubs", "uk,ae", "--start", "2026-12-05T09:00Z", "--end", "2026-12-05T13:00Z"]
    status, out, _ = run(
        *arguments, "--title", "Storage upgrade", "--description", "New disks", "--impact", "read_only"
    )
    assert status == 0
    window = MaintenanceWindow.objects.get()
    assert out.strip() == str(window.pk)
    assert (window.title, window.description, window.impact) == ("Storage upgrade", "New disks", "read_only")
    assert {hub.code for hub in window.hubs.all()} == {"uk", "ae"}
    assert window.starts_at == datetime(2026, 12, 5, 9, tzinfo=UTC)
    assert not window.is_emergency


def test_a_refusal_exits_non_zero_and_says_what_to_change():
    # CommandError is what manage.py turns into "CommandError: ..." on stderr
    # and exit status returncode (run_from_argv); run_from_argv itself would
    # close the test's database connection.
    with pytest.raises(CommandError) as refused:
        call_command(
            "schedule_maintenance",
            "--hubs=ae",
            "--start=2026-12-02T06:00Z",
            "--end=2026-12-02T08:00Z",
            "--title=Too soon",
        )
    assert refused.value.returncode == 1
    message = str(refused.value)
    assert "Hub ae (Dubai): maintenance must start on or after Sat 5 Dec 2026 00:00 +04 to give 5 days' notice." in (
        message
    )
    assert "is not at the weekend there" in message
    assert not MaintenanceWindow.objects.exists()


def test_an_emergency_reason_bypasses_the_rules_and_is_audited():
    status, out, _ = run(
        "--hubs",
        "uk",
        "--start",
        "2026-11-30T10:00+00:00",
        "--end",
        "2026-11-30T11:00+00:00",
        "--title",
        "Gateway patch",
        "--emergency-reason",
        "Security fix for the storage gateway",
    )
    assert status == 0
    window = MaintenanceWindow.objects.get(pk=int(out))
    assert window.is_emergency and window.emergency_reason == "Security fix for the storage gateway"
    assert StaffAuditEntry.objects.get(action="maintenancewindow.emergency_schedule").target_id == out.strip()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--hubs", "uk,zz"], "Unknown hub code(s): zz"),
        (["--hubs", "uk", "--start", "tomorrow"], "is not a date and time"),
        (["--hubs", "uk", "--start", "2026-12-05T09:00"], "has no time zone"),
    ],
)
def test_bad_arguments_are_refused_with_what_to_write(arguments, message):
    values = {"--hubs": "uk", "--start": "2026-12-05T09:00Z", "--end": "2026-12-05T13:00Z", "--title": "x"}
    values.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("schedule_maintenance", *[item for pair in values.items() for item in pair])
    assert not MaintenanceWindow.objects.exists()
