"""``manage.py incidents``: the table and the JSON scripts read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

from django.core.management import call_command

from conftest import all_databases
from hubs.models import Incident

pytestmark = all_databases

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def listed(*arguments: str) -> str:
    stdout = StringIO()
    call_command("incidents", *arguments, stdout=stdout)
    return stdout.getvalue()


def make_incidents() -> tuple[Incident, Incident]:
    open_one = Incident.objects.create(
        hub_id="uk", component="storage.primary", title="London: storage.primary failing", opened_at=T0
    )
    resolved = Incident.objects.create(
        hub_id="de", component="replication", title="Frankfurt: replication failing", opened_at=T0,
        state="resolved", resolved_at=datetime(2026, 11, 30, 12, 5, tzinfo=UTC),
    )  # fmt: skip
    return open_one, resolved


def test_json_lists_every_field_with_offsets() -> None:
    open_one, resolved = make_incidents()
    rows = json.loads(listed("--json"))
    assert {row["id"] for row in rows} == {open_one.pk, resolved.pk}
    row = next(row for row in rows if row["id"] == resolved.pk)
    assert row == {
        "id": resolved.pk,
        "hub": "de",
        "component": "replication",
        "severity": "critical",
        "state": "resolved",
        "title": "Frankfurt: replication failing",
        "opened_at": "2026-11-30T12:00:00+00:00",
        "acknowledged_at": None,
        "resolved_at": "2026-11-30T12:05:00+00:00",
    }


def test_open_leaves_out_the_resolved() -> None:
    open_one, _ = make_incidents()
    assert [row["id"] for row in json.loads(listed("--open", "--json"))] == [open_one.pk]


def test_the_table_has_a_header_and_a_line_per_incident() -> None:
    make_incidents()
    lines = listed("--open").splitlines()
    assert lines[0].split() == [
        "id", "hub", "component", "severity", "state", "title", "opened_at", "acknowledged_at", "resolved_at",
    ]  # fmt: skip
    assert len(lines) == 2 and "London: storage.primary failing" in lines[1] and "2026-11-30T12:00:00+00:00" in lines[1]
