"""The name index stays in step with the store through every write path: the
services' ORM writes, the raw executemany of a restore batch, renames, moves,
deletes, restores from Recently deleted and from a snapshot. After any sequence
of them, search finds exactly the live items whose name contains the text, and
on SQLite the FTS5 table holds exactly the open and Recently deleted rows."""

from __future__ import annotations

import io

from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import StoreError
from snapshots.models import NodeVersion
from snapshots.selectors.search import FTS_TABLE, search_names
from snapshots.services import RestoreRequest, restore_run, restore_start, snapshot_create

pytestmark = all_databases

NAMES = ["Alpha.txt", "alpha-2", "BETA.md", "beta", "Gamma", "ALPHABET"]
FOLDERS = ["/", "/Docs", "/Docs/Old", "/Zeta"]
OPS = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(FOLDERS), st.sampled_from(NAMES)),
    st.tuples(st.just("rename"), st.integers(0, 50), st.sampled_from(NAMES)),
    st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(FOLDERS)),
    st.tuples(st.just("delete"), st.integers(0, 50), st.just("")),
    st.tuples(st.just("untrash"), st.integers(0, 50), st.just("")),
    st.tuples(st.just("snapshot"), st.just(0), st.just("")),
    st.tuples(st.just("rewind"), st.just(0), st.just("")),
)


def indexed_rows_match(tenant) -> None:
    """On SQLite: the FTS5 table's rows for the tenant are exactly its open and Recently deleted rows."""
    connection = connections[f"hub_{tenant.hub_id}"]
    if connection.vendor != "sqlite":
        return
    expected = set(
        NodeVersion.objects.for_tenant(tenant).filter(valid_to__isnull=True).values_list("id", flat=True)
    ) | set(NodeVersion.objects.for_tenant(tenant).filter(in_trash=True).values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [f'tenant : "#{tenant.pk}#"'])
        indexed = {row[0] for row in cursor.fetchall()}
    assert indexed == expected


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(operations=st.lists(OPS, min_size=1, max_size=25))
def test_search_matches_the_live_tree_after_any_sequence_of_writes(make_tenant, operations):
    signup = make_tenant(hub="uk")
    tenant, user = signup.tenant, signup.user
    snapshot_id = None
    for kind, arg, value in operations:
        live = sorted(path for path in selectors.tree_as_of(tenant=tenant) if path != "/")
        try:
            if kind == "write":
                path = f"{arg.rstrip('/')}/{value}"
                services.file_write(
                    tenant=tenant,
                    path=path,
                    stream=io.BytesIO(path.encode()),
                    content_length=len(path),
                    acting_user=user,
                )
            elif kind == "rename" and live:
                services.node_rename(tenant=tenant, path=live[arg % len(live)], new_name=value, acting_user=user)
            elif kind == "move" and live:
                source = live[arg % len(live)]
                services.node_move(
                    tenant=tenant,
                    from_path=source,
                    to_path=f"{value.rstrip('/')}/{source.rsplit('/', 1)[1]}",
                    acting_user=user,
                )
            elif kind == "delete" and live:
                services.node_delete(tenant=tenant, path=live[arg % len(live)], acting_user=user)
            elif kind == "untrash":
                trash = selectors.trash_items(tenant=tenant, limit=100).items
                if trash:
                    services.trash_restore(tenant=tenant, version_id=trash[arg % len(trash)].pk, acting_user=user)
            elif kind == "snapshot":
                snapshot_id = snapshot_create(tenant=tenant, acting_user=user).pk
            elif kind == "rewind" and snapshot_id is not None:
                job = restore_start(tenant=tenant, request=RestoreRequest(snapshot_id=snapshot_id), acting_user=user)
                restore_run(tenant=tenant, job_id=job.pk)
        except StoreError:
            pass  # a refused write (a taken name, a move into itself) changes nothing
        indexed_rows_match(tenant)

    tree = selectors.tree_as_of(tenant=tenant)
    for text in ("alpha", "BET", "a", "t.", "zeta", "old"):
        hits = search_names(tenant=tenant, text=text, limit=1000)
        expected = sorted(path for path in tree if path != "/" and text.lower() in path.rsplit("/", 1)[1].lower())
        assert sorted(hit.path for hit in hits.items) == expected, text
        assert hits.next_cursor is None


def test_matches_inside_a_deleted_folder_cost_short_pages_not_long_ones(make_tenant, monkeypatch):
    from snapshots.selectors import search as search_module

    monkeypatch.setattr(search_module, "MAX_SCANNED", 30)
    signup = make_tenant(hub="uk")
    tenant, user = signup.tenant, signup.user
    for n in range(3):  # older than what follows, so read after it
        services.file_write(
            tenant=tenant, path=f"/live/report-{n}.txt", stream=io.BytesIO(b"x"), content_length=1, acting_user=user
        )
    for n in range(70):
        services.file_write(
            tenant=tenant, path=f"/gone/report-{n}.txt", stream=io.BytesIO(b"x"), content_length=1, acting_user=user
        )
    services.node_delete(tenant=tenant, path="/gone", acting_user=user)

    found, sizes, cursor = [], [], None
    while True:
        page = search_names(tenant=tenant, text="report", cursor=cursor, limit=5)
        sizes.append(len(page.items))
        found += [hit.path for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(found) == [f"/live/report-{n}.txt" for n in range(3)]
    # The first page reads two batches of 20 unreachable candidates (past the cap of 30) and
    # stops, empty, with a cursor; the second reads the other 30 and finds the live ones.
    assert sizes == [0, 3]
