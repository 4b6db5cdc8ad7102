"""WebDAV's locks and dead properties live in the tenant's hub database: they
expire, follow their resource through MOVE, COPY and DELETE, are read in a
fixed number of queries however large the folder, are shared by every server
process and survive a restart, and no path reaches the control database or the
shared cache."""

from __future__ import annotations

import base64
import http.client
import io
import pickle
import tarfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
import redis
import time_machine
from django.core.cache.backends.filebased import FileBasedCache
from django.db import connections
from django.test.utils import CaptureQueriesContext

from hubs.routing import hub_database_alias
from portal.testing.servers import live_server
from portal.tests.dav.conftest import NAME_MARK, DavAccount, DavServer
from snapshots import selectors
from snapshots.models import Blob, Change, DavLock, DavProperty, Node, TenantClock
from snapshots.services import file_write, folder_create, node_delete, node_move, node_purge
from snapshots.tasks import sweep_temporaries_task

FILE = f"{NAME_MARK}.txt"
PROPERTY = f"{{urn:example:{NAME_MARK}}}colour"


def _proppatch(value: str) -> bytes:
    return (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:E="urn:example:'
        f'{NAME_MARK}"><D:set><D:prop><E:colour>{value}</E:colour></D:prop></D:set></D:propertyupdate>'
    ).encode()


LOCK_BODY = (
    b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    b"<D:locktype><D:write/></D:locktype><D:owner>tester</D:owner></D:lockinfo>"
)


def _auth(account: DavAccount) -> tuple[str, str]:
    return (account.email, account.dav_token)


def _url(account: DavAccount, path: str = "") -> str:
    return f"/dav/{account.tenant.slug}/{path}"


def _destination(account: DavAccount, path: str) -> str:
    return f"http://testserver/dav/{account.tenant.slug}/{quote(path)}"


def _properties(account: DavAccount) -> dict[str, str]:
    return dict(DavProperty.objects.for_tenant(account.tenant).values_list("path", "value"))


# --- in-process ---------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db(databases="__all__")


def test_lock_expires_and_is_deleted_when_seen(dav_call, dav_account) -> None:
    auth = _auth(dav_account)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        assert dav_call("PUT", _url(dav_account, FILE), body=b"one", auth=auth).status == 201
        locked = dav_call("LOCK", _url(dav_account, FILE), body=LOCK_BODY, auth=auth, timeout="Second-60")
        assert locked.status == 200, locked.body
        token = locked.headers["lock-token"].strip("<>")
        row = DavLock.objects.for_tenant(dav_account.tenant).get()
        assert (row.token, row.path, row.principal) == (token, f"/{FILE}", f"user-{dav_account.user.pk}")
        assert dav_call("PUT", _url(dav_account, FILE), body=b"two", auth=auth).status == 423
        traveller.shift(timedelta(seconds=59))
        assert dav_call("PUT", _url(dav_account, FILE), body=b"two", auth=auth).status == 423
        traveller.shift(timedelta(seconds=2))
        assert dav_call("PUT", _url(dav_account, FILE), body=b"two", auth=auth).status == 204
        assert not DavLock.objects.for_tenant(dav_account.tenant).exists()


def test_periodic_clean_up_removes_expired_locks(dav_call, dav_account) -> None:
    auth = _auth(dav_account)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        assert dav_call("PUT", _url(dav_account, FILE), body=b"one", auth=auth).status == 201
        for timeout in ("Second-60", "Second-600"):
            dav_call("LOCK", _url(dav_account, FILE), body=LOCK_BODY.replace(b"exclusive", b"shared"),
                     auth=auth, timeout=timeout)  # fmt: skip
        assert DavLock.objects.for_tenant(dav_account.tenant).count() == 2
        traveller.shift(timedelta(seconds=120))
        sweep_temporaries_task(hub_code=dav_account.tenant.hub_id)
        assert list(DavLock.objects.for_tenant(dav_account.tenant).values_list("timeout_seconds", flat=True)) == [600]


def test_properties_follow_move_copy_and_delete(dav_call, dav_account) -> None:
    auth = _auth(dav_account)
    assert dav_call("MKCOL", _url(dav_account, "a"), auth=auth).status == 201
    assert dav_call("PUT", _url(dav_account, f"a/{FILE}"), body=b"x", auth=auth).status == 201
    for path, value in (("a", "folder"), (f"a/{FILE}", "file")):
        assert dav_call("PROPPATCH", _url(dav_account, path), body=_proppatch(value), auth=auth).status == 207
    assert sorted(_properties(dav_account)) == ["/a", f"/a/{FILE}"]
    assert ">folder<" in _properties(dav_account)["/a"]

    moved = dav_call("MOVE", _url(dav_account, "a"), auth=auth, destination=_destination(dav_account, "b"))
    assert moved.status == 201
    assert sorted(_properties(dav_account)) == ["/b", f"/b/{FILE}"]
    found = dav_call("PROPFIND", _url(dav_account, f"b/{FILE}"), auth=auth, depth="0")
    assert b">file<" in found.body

    copied = dav_call("COPY", _url(dav_account, "b"), auth=auth, destination=_destination(dav_account, "c"))
    assert copied.status == 201
    assert sorted(_properties(dav_account)) == ["/b", f"/b/{FILE}", "/c", f"/c/{FILE}"]

    assert dav_call("DELETE", _url(dav_account, "b"), auth=auth).status == 204
    assert sorted(_properties(dav_account)) == ["/c", f"/c/{FILE}"]
    # A sibling whose name starts like the deleted folder's keeps its properties.
    assert dav_call("MKCOL", _url(dav_account, "cc"), auth=auth).status == 201
    assert dav_call("PROPPATCH", _url(dav_account, "cc"), body=_proppatch("sibling"), auth=auth).status == 207
    assert dav_call("DELETE", _url(dav_account, "c"), auth=auth).status == 204
    assert list(_properties(dav_account)) == ["/cc"]


def _state_queries(queries: CaptureQueriesContext) -> list[str]:
    """The queries of WebDAV's state; not the path lookups, whose one statement
    also reads whether any lock is unexpired (``PathLookup.dav_locked``)."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if ("davproperty" in query["sql"] or "davlock" in query["sql"]) and "subtree_files" not in query["sql"]
    ]


def test_propfind_reads_state_in_queries_that_do_not_grow_with_the_folder(dav_call, dav_account) -> None:
    auth = _auth(dav_account)
    tenant, user = dav_account.tenant, dav_account.user
    folder_create(tenant=tenant, path="/big", acting_user=user)

    def propfind_queries(files: int) -> int:
        for index in range(files):
            path = f"/big/{NAME_MARK}-{index}-{files}"
            file_write(tenant=tenant, path=path, stream=iter_bytes(b"x"), content_length=1, acting_user=user)
            dav_call("PROPPATCH", _url(dav_account, path[1:]), body=_proppatch(str(index)), auth=auth)
        with CaptureQueriesContext(connections[hub_database_alias(tenant.hub_id)]) as queries:
            answer = dav_call("PROPFIND", _url(dav_account, "big"), auth=auth, depth="1")
        assert answer.status == 207 and answer.body.count(b"colour>") >= files
        return len(_state_queries(queries))

    few = propfind_queries(5)
    many = propfind_queries(40)
    assert few == many <= 3


def iter_bytes(content: bytes) -> io.BytesIO:
    return io.BytesIO(content)


# --- real servers ----------------------------------------------------------------------------


def _request(base: str, method: str, path: str, account: DavAccount, body: bytes = b"", **headers: str) -> Any:
    where = urlsplit(base)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    credentials = base64.b64encode(f"{account.email}:{account.dav_token}".encode()).decode()
    names = {key.replace("_", "-"): value for key, value in headers.items()}
    try:
        connection.request(
            method, quote(f"/dav/{account.tenant.slug}/{path}"), body=body,
            headers={"Authorization": f"Basic {credentials}", **names},
        )  # fmt: skip
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _cache_contents(cache_url: str) -> list[bytes]:
    """Every key and value in the shared cache the servers used, as bytes."""
    if cache_url.startswith("filecache://"):
        found = []
        for entry in Path(cache_url.removeprefix("filecache://")).rglob("*.djcache"):
            with entry.open("rb") as handle:
                pickle.load(handle)  # the expiry
                found.append(entry.name.encode() + zlib.decompress(handle.read()))
        return found
    client = redis.Redis.from_url(cache_url)
    found = []
    for key in client.scan_iter():
        value = client.dump(key) or b""
        found.append(key + value)
    return found


def _cache_probe(cache_url: str) -> None:
    if cache_url.startswith("filecache://"):
        FileBasedCache(cache_url.removeprefix("filecache://"), {}).set("probe", "residency-probe")
    else:
        redis.Redis.from_url(cache_url).set("probe", b"residency-probe")


def _control_rows() -> list[str]:
    connection = connections["default"]
    rows: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from the schema
            rows.extend(repr(row) for row in cursor.fetchall())
    return rows


@pytest.mark.worker
@pytest.mark.timeout(180)
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_state_is_shared_by_servers_survives_restart_and_stays_in_the_hub(
    dav_server: DavServer, dav_account: DavAccount, tmp_path: Path
) -> None:
    first = dav_server.base
    account = dav_account
    assert _request(first, "MKCOL", NAME_MARK, account)[0] == 201
    assert _request(first, "PUT", f"{NAME_MARK}/{FILE}", account, b"one")[0] == 201
    status, _, _ = _request(first, "PROPPATCH", f"{NAME_MARK}/{FILE}", account, _proppatch(f"blue-{NAME_MARK}"))
    assert status == 207
    status, headers, body = _request(first, "LOCK", f"{NAME_MARK}/{FILE}", account, LOCK_BODY, Timeout="Second-600")
    assert status == 200, body
    token = headers["Lock-Token"]
    copy_to = f"{first}/{account.tenant.slug}/{quote(NAME_MARK)}/copy-{quote(FILE)}"
    assert _request(first, "COPY", f"{NAME_MARK}/{FILE}", account, Destination=copy_to)[0] == 201

    # A second server (its own master and worker) on the same databases honours the lock.
    with live_server(
        tmp_path / "second", tmp_path / "second.log", extra_env={"CACHE_URL": dav_server.cache_url}
    ) as second:
        other = f"{second.base}/dav"
        assert _request(other, "PUT", f"{NAME_MARK}/{FILE}", account, b"two")[0] == 423
        assert _request(other, "PUT", f"{NAME_MARK}/{FILE}", account, b"two", If=f"({token})")[0] == 204
        assert _request(other, "UNLOCK", f"{NAME_MARK}/{FILE}", account, Lock_Token=token)[0] == 204
        assert _request(first, "PUT", f"{NAME_MARK}/{FILE}", account, b"three")[0] == 204
        assert NAME_MARK not in second.log.read_text(errors="replace")

    # The first server restarted: the properties are still there.
    dav_server.process.terminate()
    dav_server.process.wait(timeout=30)
    with live_server(
        tmp_path / "third", tmp_path / "third.log", extra_env={"CACHE_URL": dav_server.cache_url}
    ) as third:
        status, _, body = _request(f"{third.base}/dav", "PROPFIND", f"{NAME_MARK}/copy-{FILE}", account, Depth="0")
        assert status == 207 and f"blue-{NAME_MARK}".encode() in body

    # The names are in the hub's tables, and nowhere in the control database or the cache.
    assert DavProperty.objects.for_tenant(account.tenant).filter(value__contains=NAME_MARK).count() == 2
    _cache_probe(dav_server.cache_url)  # the scan below sees what is in the cache
    contents = _cache_contents(dav_server.cache_url)
    assert any(b"residency-probe" in entry for entry in contents)
    assert not [entry[:80] for entry in contents if NAME_MARK.encode() in entry]
    rows = _control_rows()
    assert any(account.email in row for row in rows)  # the scan below sees the control tables
    assert not [row[:200] for row in rows if NAME_MARK in row]


def test_copy_in_the_live_tree_reuses_blobs_in_one_step(dav_call, dav_account) -> None:
    tenant, user, auth = dav_account.tenant, dav_account.user, _auth(dav_account)
    for index in range(3):
        file_write(tenant=tenant, path=f"/src/sub/{NAME_MARK}-{index}", stream=iter_bytes(b"abc" * (index + 1)),
                   content_length=3 * (index + 1), acting_user=user)  # fmt: skip
    blobs_before = Blob.objects.for_tenant(tenant).count()
    usage_before = selectors.live_usage(tenant=tenant)
    seq_before = TenantClock.objects.for_tenant(tenant).get().seq

    copied = dav_call("COPY", _url(dav_account, "src"), auth=auth, destination=_destination(dav_account, "dst"))
    assert copied.status == 201, copied.body
    assert Blob.objects.for_tenant(tenant).count() == blobs_before  # no byte written again
    assert TenantClock.objects.for_tenant(tenant).get().seq == seq_before + 1  # one step
    usage = selectors.live_usage(tenant=tenant)
    assert usage.live_bytes == 2 * usage_before.live_bytes
    changes = Change.objects.for_tenant(tenant).filter(seq=seq_before + 1)
    assert sorted(changes.values_list("action", "path")) == sorted(
        [("mkdir", "/dst"), ("mkdir", "/dst/sub")] + [("create", f"/dst/sub/{NAME_MARK}-{index}") for index in range(3)]
    )
    assert {change.actor_user_id for change in changes} == {user.pk}
    root = selectors.resolve(tenant=tenant, names=[])[-1]
    dst = selectors.resolve(tenant=tenant, names=["dst"])[-1]
    node_counters = Node.objects.for_tenant(tenant).values_list("subtree_files", "subtree_bytes")
    assert node_counters.get(pk=dst.node_id) == (3, 18)
    assert node_counters.get(pk=root.node_id) == (6, 36)
    got = dav_call("GET", _url(dav_account, f"dst/sub/{NAME_MARK}-2"), auth=auth)
    assert got.body == b"abcabcabc"

    # A file over an existing one replaces it (the old content goes to Recently deleted).
    again = dav_call(
        "COPY", _url(dav_account, f"src/sub/{NAME_MARK}-0"), auth=auth,
        destination=_destination(dav_account, f"dst/sub/{NAME_MARK}-2"),
    )  # fmt: skip
    assert again.status == 204
    assert dav_call("GET", _url(dav_account, f"dst/sub/{NAME_MARK}-2"), auth=auth).body == b"abc"
    # Over the quota: refused, nothing made.
    tenant.quota_bytes = selectors.live_usage(tenant=tenant).live_bytes + 5
    tenant.save(update_fields=["quota_bytes"])
    refused = dav_call("COPY", _url(dav_account, "src"), auth=auth, destination=_destination(dav_account, "more"))
    assert refused.status == 507
    assert dav_call("PROPFIND", _url(dav_account, "more"), auth=auth, depth="0").status == 404


def test_a_purge_takes_the_items_dead_properties_and_locks(dav_call, dav_account) -> None:
    auth = _auth(dav_account)
    name = f"{NAME_MARK} secret"
    assert dav_call("MKCOL", _url(dav_account, name), auth=auth).status == 201
    assert dav_call("PUT", _url(dav_account, f"{name}/{FILE}"), body=b"x", auth=auth).status == 201
    assert dav_call("PUT", _url(dav_account, "kept.txt"), body=b"x", auth=auth).status == 201
    for path in (name, f"{name}/{FILE}", "kept.txt"):
        assert dav_call("PROPPATCH", _url(dav_account, path), body=_proppatch("x"), auth=auth).status == 207
    assert dav_call("LOCK", _url(dav_account, f"{name}/{FILE}"), body=LOCK_BODY, auth=auth).status == 200
    node_purge(tenant=dav_account.tenant, path=f"/{name}", acting_user=None, reason="erasure request")
    assert list(_properties(dav_account)) == ["/kept.txt"]
    assert not DavLock.objects.for_tenant(dav_account.tenant).exists()


# --- the store's own moves and deletes ----------------------------------------------------------


def _api(account: DavAccount) -> Any:
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {account.api_token}")


def test_moves_and_deletes_through_the_api_carry_the_state(dav_call, dav_account) -> None:
    """A property set over WebDAV on a file: the file moved through the REST API
    keeps its property at the new path and the old path has none; deleted
    through the API, a new file of its name has none of the old one's."""
    auth, api = _auth(dav_account), _api(dav_account)
    assert dav_call("PUT", _url(dav_account, FILE), body=b"one", auth=auth).status == 201
    assert dav_call("PROPPATCH", _url(dav_account, FILE), body=_proppatch("red"), auth=auth).status == 207

    moved = api.post(
        "/api/v1/files/move", {"from": f"/{FILE}", "to": f"/moved-{FILE}"}, content_type="application/json"
    )
    assert moved.status_code == 200, moved.content
    found = dav_call("PROPFIND", _url(dav_account, f"moved-{FILE}"), auth=auth, depth="0")
    assert found.status == 207 and b">red<" in found.body
    assert list(_properties(dav_account)) == [f"/moved-{FILE}"]
    # The old name is free again over WebDAV, without the old properties.
    assert dav_call("PUT", _url(dav_account, FILE), body=b"new", auth=auth).status == 201
    assert b">red<" not in dav_call("PROPFIND", _url(dav_account, FILE), auth=auth, depth="0").body

    deleted = api.delete("/api/v1/files/?" + urlencode({"path": f"/moved-{FILE}"}))
    assert deleted.status_code == 204, deleted.content
    assert list(_properties(dav_account)) == []
    again = dav_call("PUT", _url(dav_account, f"moved-{FILE}"), body=b"again", auth=auth)
    assert again.status == 201, again.body
    found = dav_call("PROPFIND", _url(dav_account, f"moved-{FILE}"), auth=auth, depth="0")
    assert found.status == 207 and b">red<" not in found.body


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _post(api: Any, url: str, data: dict[str, Any]) -> Any:
    return api.post(url, data, content_type="application/json")


def _refused_as_locked(response: Any) -> None:
    assert response.status_code == 423, response.content
    problem = response.json()
    assert problem["type"] == "urn:hubport:problem:locked"
    assert "locked by a WebDAV client" in problem["detail"]


def test_a_lock_binds_the_pages_and_the_api_as_it_binds_other_clients(dav_call, dav_account) -> None:
    """While a WebDAV client holds a lock, the API (which cannot present its
    token) may not write, move, copy over or delete what it covers, in one
    request or in bulk; WebDAV with the token may, and once the lock ends the
    API may too. Nothing a refusal touched has changed."""
    auth, api = _auth(dav_account), _api(dav_account)
    assert dav_call("MKCOL", _url(dav_account, "team"), auth=auth).status == 201
    assert dav_call("PUT", _url(dav_account, f"team/{FILE}"), body=b"one", auth=auth).status == 201
    assert dav_call("PROPPATCH", _url(dav_account, f"team/{FILE}"), body=_proppatch("red"), auth=auth).status == 207
    locked = dav_call("LOCK", _url(dav_account, f"team/{FILE}"), body=LOCK_BODY, auth=auth, timeout="Second-600")
    assert locked.status == 200, locked.body
    token = locked.headers["lock-token"].strip("<>")
    clock = selectors.clock_now(tenant=dav_account.tenant)

    _refused_as_locked(
        api.generic(
            "PUT",
            "/api/v1/files/content?" + urlencode({"path": f"/team/{FILE}"}),
            data=b"two",
            content_type="application/octet-stream",
        )
    )
    _refused_as_locked(
        api.post("/api/v1/files/move", {"from": f"/team/{FILE}", "to": "/x.txt"}, content_type="application/json")
    )
    _refused_as_locked(api.delete("/api/v1/files/?" + urlencode({"path": f"/team/{FILE}"})))
    # A folder holding the locked file: neither it nor a bulk step with it moves or goes.
    _refused_as_locked(
        api.post("/api/v1/files/move", {"from": "/team", "to": "/team-2"}, content_type="application/json")
    )
    _refused_as_locked(api.post("/api/v1/files/bulk-delete", {"paths": ["/team"]}, content_type="application/json"))
    assert "10 more minutes" in api.delete("/api/v1/files/?" + urlencode({"path": "/team"})).json()["detail"]
    # A bulk upload: the locked member is refused on its own, the others land.
    answer = api.generic(
        "POST",
        "/api/v1/files/bulk?" + urlencode({"path": "/team"}),
        data=_tar({FILE: b"three", "other.txt": b"four"}),
        content_type="application/x-tar",
    )
    assert answer.status_code == 200, answer.content
    outcomes = {item["path"]: item for item in answer.json()["items"]}
    assert outcomes[f"/team/{FILE}"]["status"] == "refused" and outcomes[f"/team/{FILE}"]["code"] == "locked"
    assert outcomes["/team/other.txt"]["status"] == "created"
    assert selectors.clock_now(tenant=dav_account.tenant) == clock + 1  # only the bulk upload's step
    assert dav_call("GET", _url(dav_account, f"team/{FILE}"), auth=auth).body == b"one"
    assert list(_properties(dav_account)) == [f"/team/{FILE}"]

    # The lock's holder writes with its token; after UNLOCK the API moves the folder.
    assert dav_call("PUT", _url(dav_account, f"team/{FILE}"), body=b"two", auth=auth, If=f"(<{token}>)").status == 204
    assert dav_call("UNLOCK", _url(dav_account, f"team/{FILE}"), auth=auth, Lock_Token=f"<{token}>").status == 204
    moved = api.post("/api/v1/files/move", {"from": "/team", "to": "/team-2"}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    assert list(_properties(dav_account)) == [f"/team-2/{FILE}"]


def test_a_depth_infinity_lock_on_a_folder_binds_what_goes_into_it(dav_call, dav_account) -> None:
    auth, api = _auth(dav_account), _api(dav_account)
    for folder in ("shared", "elsewhere"):
        assert dav_call("MKCOL", _url(dav_account, folder), auth=auth).status == 201
    assert dav_call("PUT", _url(dav_account, "elsewhere/a.txt"), body=b"a", auth=auth).status == 201
    locked = dav_call("LOCK", _url(dav_account, "shared"), body=LOCK_BODY, auth=auth, depth="infinity")
    assert locked.status == 200, locked.body

    _refused_as_locked(_post(api, "/api/v1/files/copy", {"from": "/elsewhere/a.txt", "to": "/shared/a.txt"}))
    _refused_as_locked(_post(api, "/api/v1/files/bulk-move", {"paths": ["/elsewhere/a.txt"], "to": "/shared"}))
    _refused_as_locked(_post(api, "/api/v1/files/folders", {"path": "/shared/new"}))
    _refused_as_locked(
        api.generic(
            "PUT",
            "/api/v1/files/content?" + urlencode({"path": "/shared/deep/b.txt"}),
            data=b"b",
            content_type="application/octet-stream",
        )
    )
    shared = selectors.node_at_path(tenant=dav_account.tenant, path="/shared")
    assert selectors.live_child_count(tenant=dav_account.tenant, folder=shared) == 0
    # Outside the locked folder the API works as before.
    copied = _post(api, "/api/v1/files/copy", {"from": "/elsewhere/a.txt", "to": "/elsewhere/b.txt"})
    assert copied.status_code == 201, copied.content


def test_a_depth_0_lock_on_a_folder_binds_its_membership_not_its_members(dav_call, dav_account) -> None:
    """RFC 4918 7.4: a depth-0 lock on a folder protects which items it holds
    (added, removed, renamed), not what is inside them."""
    auth, api = _auth(dav_account), _api(dav_account)
    for folder in ("shared", "shared/sub", "elsewhere"):
        assert dav_call("MKCOL", _url(dav_account, folder), auth=auth).status == 201
    for path in ("shared/kept.txt", "elsewhere/a.txt"):
        assert dav_call("PUT", _url(dav_account, path), body=b"a", auth=auth).status == 201
    locked = dav_call("LOCK", _url(dav_account, "shared"), body=LOCK_BODY, auth=auth, depth="0")
    assert locked.status == 200, locked.body
    token = locked.headers["lock-token"].strip("<>")
    clock = selectors.clock_now(tenant=dav_account.tenant)

    def put(path: str, body: bytes = b"b") -> Any:
        return api.generic(
            "PUT",
            "/api/v1/files/content?" + urlencode({"path": path}),
            data=body,
            content_type="application/octet-stream",
        )

    # Into it, out of it, within it: each changes what it holds.
    _refused_as_locked(put("/shared/new.txt"))
    _refused_as_locked(put("/shared/deep/b.txt"))  # the folder made on the way is a new member
    _refused_as_locked(_post(api, "/api/v1/files/folders", {"path": "/shared/new"}))
    _refused_as_locked(_post(api, "/api/v1/files/copy", {"from": "/elsewhere/a.txt", "to": "/shared/a.txt"}))
    _refused_as_locked(_post(api, "/api/v1/files/bulk-move", {"paths": ["/elsewhere/a.txt"], "to": "/shared"}))
    _refused_as_locked(_post(api, "/api/v1/files/move", {"from": "/shared/kept.txt", "to": "/shared/renamed.txt"}))
    _refused_as_locked(_post(api, "/api/v1/files/move", {"from": "/shared/kept.txt", "to": "/elsewhere/k.txt"}))
    _refused_as_locked(api.delete("/api/v1/files/?" + urlencode({"path": "/shared/kept.txt"})))
    assert selectors.clock_now(tenant=dav_account.tenant) == clock

    # A bulk upload: its new file and new folder are refused, the replaced file lands.
    answer = api.generic(
        "POST",
        "/api/v1/files/bulk?" + urlencode({"path": "/shared"}),
        data=_tar({"kept.txt": b"replaced", "fresh.txt": b"c", "made/c.txt": b"c"}),
        content_type="application/x-tar",
    )
    assert answer.status_code == 200, answer.content
    outcomes = {item["path"]: item["status"] for item in answer.json()["items"]}
    assert outcomes == {"/shared/kept.txt": "replaced", "/shared/fresh.txt": "refused", "/shared/made/c.txt": "refused"}
    # What is inside its members is not its membership: a file replaced, one added to a subfolder.
    assert put("/shared/kept.txt", b"again").status_code == 200
    assert put("/shared/sub/inner.txt").status_code == 201
    shared = selectors.node_at_path(tenant=dav_account.tenant, path="/shared")
    assert selectors.live_child_count(tenant=dav_account.tenant, folder=shared) == 2  # kept.txt and sub

    # The lock's holder adds with its token; WebDAV without it is refused by WsgiDAV itself.
    assert dav_call("PUT", _url(dav_account, "shared/other.txt"), body=b"o", auth=auth).status == 423
    added = dav_call("PUT", _url(dav_account, "shared/other.txt"), body=b"o", auth=auth, If=f"(<{token}>)")
    assert added.status == 201


def test_bulk_moves_and_deletes_carry_the_childrens_state(dav_call, dav_account) -> None:
    auth, api = _auth(dav_account), _api(dav_account)
    for folder in ("a", "to", "cc"):
        assert dav_call("MKCOL", _url(dav_account, folder), auth=auth).status == 201
    assert dav_call("PUT", _url(dav_account, f"a/{FILE}"), body=b"x", auth=auth).status == 201
    for path, value in (("a", "folder"), (f"a/{FILE}", "child"), ("cc", "sibling")):
        assert dav_call("PROPPATCH", _url(dav_account, path), body=_proppatch(value), auth=auth).status == 207

    moved = api.post("/api/v1/files/bulk-move", {"paths": ["/a"], "to": "/to"}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    assert sorted(_properties(dav_account)) == ["/cc", "/to/a", f"/to/a/{FILE}"]
    found = dav_call("PROPFIND", _url(dav_account, f"to/a/{FILE}"), auth=auth, depth="0")
    assert found.status == 207 and b">child<" in found.body

    deleted = api.post("/api/v1/files/bulk-delete", {"paths": ["/to/a"]}, content_type="application/json")
    assert deleted.status_code == 200, deleted.content
    assert list(_properties(dav_account)) == ["/cc"]  # a sibling whose name starts alike keeps its own


def test_a_store_move_without_webdav_state_costs_one_query_more(dav_account) -> None:
    """A tenant without locks or properties: the state check is one query."""
    tenant, user = dav_account.tenant, dav_account.user
    file_write(tenant=tenant, path=f"/{FILE}", stream=iter_bytes(b"x"), content_length=1, acting_user=user)
    with CaptureQueriesContext(connections[hub_database_alias(tenant.hub_id)]) as queries:
        node_move(tenant=tenant, from_path=f"/{FILE}", to_path=f"/b-{FILE}", acting_user=user)
        node_delete(tenant=tenant, path=f"/b-{FILE}", acting_user=user)
    assert len(_state_queries(queries)) == 2
