"""Recently deleted's original paths are read through the node index whatever
the planner's statistics say: none at all (a new hub, a bulk load before the
hourly ANALYZE), or statistics taken while the tenant was small."""

from __future__ import annotations

import io

from django.db import connections
from django.test.utils import CaptureQueriesContext

from conftest import all_databases
from hubs.routing import hub_database_alias
from snapshots import selectors, services
from snapshots.selectors.trash import trash_original_paths
from snapshots.statistics import hub_statistics_refresh

pytestmark = all_databases


def deleted_items(made) -> list:
    for n in range(6):
        services.file_write(
            tenant=made.tenant,
            path=f"/Projects/p{n % 3}/deep/f{n}.txt",
            stream=io.BytesIO(b"x"),
            content_length=1,
            acting_user=made.user,
        )
    for n in range(6):
        services.node_delete(tenant=made.tenant, path=f"/Projects/p{n % 3}/deep/f{n}.txt", acting_user=made.user)
    return selectors.trash_items(tenant=made.tenant, limit=50).items


def plans_of_the_version_reads(made, items) -> list[str]:
    connection = connections[hub_database_alias(made.tenant.hub_id)]
    with CaptureQueriesContext(connection) as captured:
        paths = trash_original_paths(tenant=made.tenant, items=items)
    assert sorted(paths.values()) == sorted(f"/Projects/p{n % 3}/deep/f{n}.txt" for n in range(6))
    reads = [query["sql"] for query in captured if 'FROM "snapshots_nodeversion"' in query["sql"]]
    assert len(reads) == 4  # one per folder level: deep, p*, Projects, the root
    plans = []
    with connection.cursor() as cursor:
        for sql in reads:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    return plans


def test_without_statistics_the_original_paths_use_the_node_index(sqlite_hub):
    items = deleted_items(sqlite_hub)
    with connections[hub_database_alias("uk")].cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is not None:
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.execute("ANALYZE sqlite_schema")  # reloads the (now empty) statistics
    for plan in plans_of_the_version_reads(sqlite_hub, items):
        assert "version_node_from" in plan and "version_tenant_closed" not in plan


def test_with_statistics_of_a_small_tenant_the_original_paths_use_the_node_index(sqlite_hub):
    items = deleted_items(sqlite_hub)
    hub_statistics_refresh(hub_code="uk")
    for plan in plans_of_the_version_reads(sqlite_hub, items):
        assert "version_node_from" in plan


def test_the_original_paths_read_only_the_tenants_own_versions(make_tenant):
    made, other = make_tenant(hub="uk"), make_tenant(hub="uk")
    items = deleted_items(made)
    # The other tenant's deleted items name its own nodes: the walk does not find them among ours.
    foreign = deleted_items(other)
    assert selectors.versions_of_nodes(tenant=made.tenant, node_ids=[v.node_id for v in foreign]).count() == 0
    assert selectors.versions_of_nodes(tenant=made.tenant, node_ids=[v.node_id for v in items]).count() == 6
