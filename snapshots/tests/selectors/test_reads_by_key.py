"""Reads and writes of versions by node id go through the node's index, even
when the planner's statistics say a tenant has few rows. SQLite's
``analysis_limit`` sampling left such statistics on a hub of one tenant with
1.2 million versions (1,001 rows a tenant): with ``tenant_id = ?`` beside
``node_id IN (...)`` of 500 ids the planner took the tenant's index, read
every live row of the tenant for each 500 ids, and restoring everything spent
most of its time there. The test's IN lists are short, so its statistics say
two rows a tenant: the same choice at the test's scale."""

from __future__ import annotations

import io

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from conftest import all_databases
from hubs.routing import hub_database_alias
from snapshots import selectors, services
from snapshots.models import RestoreJob
from snapshots.services import RestoreRequest

pytestmark = all_databases

# sqlite_stat1 of the million-file hub as the hourly refresh left it, a tenant's rows scaled down to two.
MILLION_FILE_STATISTICS = [
    ("snapshots_nodeversion", "version_live_name", "1135855 2 2"),
    ("snapshots_nodeversion", "version_trash", "15484 2 2 1"),
    ("snapshots_nodeversion", "version_tenant_closed", "1178450 2 2"),
    ("snapshots_nodeversion", "version_node_from", "1215360 1 1"),
    ("snapshots_nodeversion", "version_parent_from", "1247520 251 143"),
    ("snapshots_nodeversion", "snapshots_nodeversion_parent_id_e7983e2e", "1296648 251"),
    ("snapshots_nodeversion", "snapshots_nodeversion_node_id_6610691c", "1260070 1"),
    ("snapshots_nodeversion", "snapshots_nodeversion_blob_id_e5bb7c83", "1040824 501"),
    ("snapshots_nodeversion", "snapshots_nodeversion_tenant_id_f2f4483b", "1075320 2"),
    ("snapshots_nodeversion", "version_one_live_per_node", "1260070 1"),
    ("snapshots_nodeversion", "version_unique_live_name", "1771742 2 2 1"),
]
TENANT_LED = ("version_live_name", "version_trash", "version_tenant_closed", "snapshots_nodeversion_tenant_id")


@pytest.fixture
def sqlite_hub_at_a_million(sqlite_hub):
    made = sqlite_hub
    with connections[hub_database_alias("uk")].cursor() as cursor:
        cursor.execute("ANALYZE")  # makes sqlite_stat1
        cursor.execute("DELETE FROM sqlite_stat1")
        cursor.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)", MILLION_FILE_STATISTICS)
        cursor.execute("ANALYZE sqlite_schema")  # the planner reads them again
    return made


def plans_by_node(connection, captured) -> list[str]:
    """The plan of every version read or write by node id that was run."""
    plans = []
    with connection.cursor() as cursor:
        for query in captured:
            sql = query["sql"]
            if '"snapshots_nodeversion"' not in sql or '"node_id" IN' not in sql:
                continue
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", query.get("params") or ())
            plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    return plans


def test_a_restore_reads_versions_by_node_through_the_node_index(sqlite_hub_at_a_million) -> None:
    made = sqlite_hub_at_a_million
    for n in range(4):
        services.file_write(
            tenant=made.tenant, path=f"/Docs/d{n % 2}/f{n}.txt", stream=io.BytesIO(b"x" * n), content_length=n,
            acting_user=made.user,
        )  # fmt: skip
    snapshot = services.snapshot_create(tenant=made.tenant, kind="manual", label="before")
    services.nodes_delete(tenant=made.tenant, paths=["/Docs"], acting_user=made.user)
    connection = connections[hub_database_alias("uk")]

    with CaptureQueriesContext(connection) as captured:
        job = services.restore_start(
            tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
        )
        finished = services.restore_run(tenant=made.tenant, job_id=job.pk)

    assert finished is not None and finished.state == RestoreJob.State.SUCCEEDED
    assert selectors.live_usage(tenant=made.tenant).live_files == 4
    plans = plans_by_node(connection, captured.captured_queries)
    assert len(plans) >= 3  # the restore's reads of open rows, parents and Recently deleted
    for plan in plans:
        assert not any(index in plan for index in TENANT_LED), plan


def test_reads_by_key_stay_within_the_tenant(make_tenant) -> None:
    made, other = make_tenant(hub="uk"), make_tenant(hub="uk")
    for owner in (made, other):
        services.file_write(
            tenant=owner.tenant, path="/a.txt", stream=io.BytesIO(b"a"), content_length=1, acting_user=owner.user
        )
    theirs = selectors.versions(tenant=other.tenant).values_list("node_id", flat=True)

    assert not selectors.versions_by_key(tenant=made.tenant).filter(node_id__in=list(theirs)).exists()
    assert selectors.versions_by_key(tenant=other.tenant).filter(node_id__in=list(theirs)).count() == len(theirs)
