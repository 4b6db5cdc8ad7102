"""The hub databases' planner statistics are refreshed: by the hourly task on
each hub's queue, and after large jobs."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.db import connections

from conftest import all_databases
from hubs.routing import hub_database_alias
from snapshots import services
from snapshots.statistics import hub_statistics_refresh
from snapshots.tasks import hub_statistics_task

pytestmark = all_databases


def version_table_statistics(hub_code: str) -> int:
    connection = connections[hub_database_alias(hub_code)]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return 0
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'snapshots_nodeversion'")
        else:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'snapshots_nodeversion'")
        return int(cursor.fetchone()[0])


def test_refresh_gives_the_planner_statistics_of_the_version_table(make_tenant):
    made = make_tenant(hub="nz")
    for n in range(30):
        services.file_write(
            tenant=made.tenant,
            path=f"/d{n % 3}/f{n}.txt",
            stream=io.BytesIO(b"x"),
            content_length=1,
            acting_user=made.user,
        )
    seconds = hub_statistics_refresh(hub_code="nz")
    assert seconds >= 0
    assert version_table_statistics("nz") > 0


def test_the_task_runs_the_refresh_and_beat_runs_it_hourly_on_every_hub(make_tenant):
    make_tenant(hub="hk")
    assert hub_statistics_task.run(hub_code="hk") >= 0
    for code in settings.HUB_CODES:
        entry = settings.CELERY_BEAT_SCHEDULE[f"statistics-{code}"]
        assert entry["task"] == "snapshots.tasks.hub_statistics_task"
        assert entry["kwargs"] == {"hub_code": code}
        assert entry["schedule"] == 3600.0


def test_postgresql_keeps_statistics_of_the_lowered_names_search_asks_for(make_tenant):
    """Without them PostgreSQL guessed that 0.5 % of rows match any name, and a
    search for a rare name walked the whole table newest first (migration
    snapshots 0010): the refresh now gives it the names' distribution."""
    connection = connections[hub_database_alias("de")]
    if connection.vendor != "postgresql":
        pytest.skip("extended statistics are PostgreSQL's; SQLite's planner takes the name index as it is")
    made = make_tenant(hub="de")
    for n in range(30):
        services.file_write(
            tenant=made.tenant,
            path=f"/Quarterly-Report-{n:02d}.TXT",
            stream=io.BytesIO(b"x"),
            content_length=1,
            acting_user=made.user,
        )
    hub_statistics_refresh(hub_code="de")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT expr, concat(most_common_vals::text, histogram_bounds::text) FROM pg_stats_ext_exprs "
            "WHERE statistics_name = 'version_lower_name'"
        )
        rows = cursor.fetchall()
    assert len(rows) == 1
    expression, distribution = rows[0]
    assert "lower" in expression
    assert "quarterly-report-" in distribution and "Quarterly" not in distribution  # lowered, as search compares
