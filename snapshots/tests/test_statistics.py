"""The hub databases' planner statistics are refreshed: by the hourly task on
each hub's queue, and after large jobs."""

from __future__ import annotations

import io

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
