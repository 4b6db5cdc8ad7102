"""WebDAV's edges, called in-process through portal.wsgi: credentials, the
throttle, the store's rules, .snapshots (read-only, hidden, COPY out is a
restore), maintenance and the log lines."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from hubs.models import Hub, Membership
from hubs.services.maintenance import maintenance_schedule
from portal.dav.resources import IterableStream
from portal.tests.dav.conftest import NAME_MARK, DavAccount
from portal.tokens import api_token_check
from snapshots import selectors
from snapshots.models import Change, RestoreJob, Snapshot
from snapshots.selectors.history import snapshots_in_retention
from snapshots.services import file_write, snapshot_create

pytestmark = pytest.mark.django_db(databases="__all__")
FILE = f"{NAME_MARK}.txt"


def _url(account: DavAccount, path: str = "") -> str:
    """PATH_INFO as a server hands it over: decoded."""
    return f"/dav/{account.tenant.slug}/{path}"


def _destination(account: DavAccount, path: str) -> str:
    return f"http://testserver/dav/{account.tenant.slug}/{quote(path)}"


def _names(body: bytes) -> str:
    return body.decode("utf-8")


def test_app_password_opens_and_account_password_never(dav_call, dav_account) -> None:
    refused = dav_call("PROPFIND", _url(dav_account), auth=(dav_account.email, dav_account.password), depth="0")
    assert refused.status == 401
    assert refused.headers["www-authenticate"].startswith("Basic ")
    assert dav_call("PROPFIND", _url(dav_account), depth="0").status == 401
    opened = dav_call("PROPFIND", _url(dav_account), auth=(dav_account.email, dav_account.dav_token), depth="0")
    assert opened.status == 207
    # An API token is not an app password; as a bearer token it opens WebDAV too.
    assert dav_call("PROPFIND", _url(dav_account), auth=(dav_account.email, dav_account.api_token)).status == 401
    bearer = dav_call("PROPFIND", _url(dav_account), depth="0", authorization=f"Bearer {dav_account.api_token}")
    assert bearer.status == 207
    # Another person's email with this app password is refused.
    assert dav_call("PROPFIND", _url(dav_account), auth=("someone@example.test", dav_account.dav_token)).status == 401
    # Another workspace's slug is not there.
    other = dav_call("PROPFIND", "/dav/another-workspace/", auth=(dav_account.email, dav_account.dav_token))
    assert other.status == 404


def test_an_app_password_does_not_open_the_rest_api(dav_account) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {dav_account.dav_token}")
    assert api.get("/api/v1/files/?path=/").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Bearer {dav_account.api_token}").get("/api/v1/files/?path=/").status_code == 200


def test_create_api_token_prints_an_app_password_with_scope_dav(dav_call, dav_account) -> None:
    output = io.StringIO()
    call_command("create_api_token", dav_account.email, "--scope", "dav", stdout=output)
    raw = output.getvalue().strip()
    assert api_token_check(raw).token.scope == "dav"
    assert dav_call("PROPFIND", _url(dav_account), auth=(dav_account.email, raw), depth="0").status == 207


def test_failed_authentications_are_throttled_by_address(dav_call, dav_account, settings) -> None:
    settings.HUBPORT_TOKEN_FAILURES_PER_ADDRESS = 3
    for _ in range(3):
        assert dav_call("PROPFIND", _url(dav_account), auth=(dav_account.email, "wrong")).status == 401
    throttled = dav_call("PROPFIND", _url(dav_account), auth=(dav_account.email, dav_account.dav_token))
    assert throttled.status == 429
    assert int(throttled.headers["retry-after"]) > 0


def test_put_makes_versions_in_the_activity_log_and_get_serves_ranges(dav_call, dav_account) -> None:
    auth = (dav_account.email, dav_account.dav_token)
    assert dav_call("MKCOL", _url(dav_account, "Reports"), auth=auth).status == 201
    assert dav_call("PUT", _url(dav_account, f"Reports/{FILE}"), body=b"first", auth=auth).status == 201
    replaced = dav_call("PUT", _url(dav_account, f"Reports/{FILE}"), body=b"second version", auth=auth)
    assert replaced.status == 204
    version = selectors.node_at_path(tenant=dav_account.tenant, path=f"/Reports/{FILE}")
    assert replaced.headers["etag"] == f'"{version.blob.sha256}"'
    assert len(selectors.file_versions(tenant=dav_account.tenant, node_id=version.node_id)) == 2
    actions = list(Change.objects.for_tenant(dav_account.tenant).order_by("seq").values_list("action", "actor_label"))
    assert [action for action, _ in actions][-3:] == ["mkdir", "create", "replace"]
    part = dav_call("GET", _url(dav_account, f"Reports/{FILE}"), auth=auth, range="bytes=7-13")
    assert (part.status, part.body) == (206, b"version")


def test_quota_and_size_limit_refuse_before_a_file_appears(dav_call, dav_account) -> None:
    auth = (dav_account.email, dav_account.dav_token)
    tenant = dav_account.tenant
    tenant.max_file_bytes = 10
    tenant.save(update_fields=["max_file_bytes"])
    assert dav_call("PUT", _url(dav_account, FILE), body=b"x" * 11, auth=auth).status == 413
    tenant.max_file_bytes, tenant.quota_bytes = None, 5
    tenant.save(update_fields=["max_file_bytes", "quota_bytes"])
    assert dav_call("PUT", _url(dav_account, FILE), body=b"x" * 6, auth=auth).status == 507
    assert dav_call("PROPFIND", _url(dav_account, FILE), auth=auth, depth="0").status == 404


def test_snapshots_are_read_only_folders_hidden_from_the_root(dav_call, dav_account, settings) -> None:
    auth = (dav_account.email, dav_account.dav_token)
    tenant = dav_account.tenant
    dav_call("PUT", _url(dav_account, FILE), body=b"as it was", auth=auth)
    snapshot = snapshot_create(tenant=tenant, kind=Snapshot.Kind.MANUAL, acting_user=None)
    dav_call("PUT", _url(dav_account, FILE), body=b"as it is now", auth=auth)
    label = f"{snapshot.taken_at.astimezone(tenant.hub.zone):%Y-%m-%d %H.%M} manual"

    root = dav_call("PROPFIND", _url(dav_account), auth=auth, depth="1")
    assert ".snapshots" not in _names(root.body)
    settings.HUBPORT_DAV_SHOW_SNAPSHOTS = True
    assert ".snapshots" in _names(dav_call("PROPFIND", _url(dav_account), auth=auth, depth="1").body)

    listing = dav_call("PROPFIND", _url(dav_account, ".snapshots/"), auth=auth, depth="1")
    assert listing.status == 207 and quote(label) in _names(listing.body)
    old = dav_call("GET", _url(dav_account, f".snapshots/{label}/{FILE}"), auth=auth)
    assert (old.status, old.body) == (200, b"as it was")

    inside = f".snapshots/{label}/{FILE}"
    assert dav_call("PUT", _url(dav_account, inside), body=b"x", auth=auth).status == 403
    assert dav_call("PUT", _url(dav_account, f".snapshots/{label}/new.txt"), body=b"x", auth=auth).status == 403
    assert dav_call("DELETE", _url(dav_account, inside), auth=auth).status == 403
    assert dav_call("MKCOL", _url(dav_account, f".snapshots/{label}/Folder"), auth=auth).status == 403
    assert dav_call("MKCOL", _url(dav_account, ".snapshots"), auth=auth).status in (403, 405)
    destination = _destination(dav_account, "moved.txt")
    assert dav_call("MOVE", _url(dav_account, inside), auth=auth, destination=destination).status == 403
    assert len(snapshots_in_retention(tenant=tenant)) == 1  # nothing above made a snapshot


def test_copy_out_of_a_snapshot_is_a_restore(dav_call, dav_account) -> None:
    auth = (dav_account.email, dav_account.dav_token)
    tenant = dav_account.tenant
    dav_call("MKCOL", _url(dav_account, "Reports"), auth=auth)
    assert dav_call("PUT", _url(dav_account, f"Reports/{FILE}"), body=b"kept bytes", auth=auth).status == 201
    snapshot = snapshot_create(tenant=tenant, kind=Snapshot.Kind.MANUAL, acting_user=None)
    assert dav_call("DELETE", _url(dav_account, f"Reports/{FILE}"), auth=auth).status == 204
    label = f"{snapshot.taken_at.astimezone(tenant.hub.zone):%Y-%m-%d %H.%M} manual"
    destination = _destination(dav_account, f"Reports/{FILE}")

    source = _url(dav_account, f".snapshots/{label}/Reports/{FILE}")
    copied = dav_call("COPY", source, auth=auth, destination=destination)
    assert copied.status == 201  # a new resource (RFC 4918 9.8.5)
    assert dav_call("GET", _url(dav_account, f"Reports/{FILE}"), auth=auth).body == b"kept bytes"
    [job] = RestoreJob.objects.for_tenant(tenant)
    assert job.state == RestoreJob.State.SUCCEEDED and job.snapshot_id == snapshot.pk
    assert job.pre_restore_snapshot is not None and job.pre_restore_snapshot.kind == Snapshot.Kind.PRE_RESTORE
    assert job.requested_by_user_id == dav_account.user.pk

    # Under another name it would not be a restore of that item: refused.
    renamed = _destination(dav_account, "Reports/other.txt")
    assert dav_call("COPY", source, auth=auth, destination=renamed).status == 403


def test_a_read_only_member_reads_and_changes_nothing(dav_call, dav_account) -> None:
    auth = (dav_account.email, dav_account.dav_token)
    tenant = dav_account.tenant
    dav_call("MKCOL", _url(dav_account, "Reports"), auth=auth)
    dav_call("PUT", _url(dav_account, f"Reports/{FILE}"), body=b"shared", auth=auth)
    snapshot = snapshot_create(tenant=tenant, kind=Snapshot.Kind.MANUAL, acting_user=None)
    dav_call("DELETE", _url(dav_account, f"Reports/{FILE}"), auth=auth)
    Membership.objects.filter(user=dav_account.user, tenant=tenant).update(role="read_only")
    changes_before = Change.objects.for_tenant(tenant).count()

    assert dav_call("PROPFIND", _url(dav_account, "Reports/"), auth=auth, depth="1").status == 207
    label = f"{snapshot.taken_at.astimezone(tenant.hub.zone):%Y-%m-%d %H.%M} manual"
    assert dav_call("GET", _url(dav_account, f".snapshots/{label}/Reports/{FILE}"), auth=auth).body == b"shared"
    refused = [
        dav_call("PUT", _url(dav_account, "Reports/new.txt"), body=b"x", auth=auth),
        dav_call("MKCOL", _url(dav_account, "Folder"), auth=auth),
        dav_call("DELETE", _url(dav_account, "Reports"), auth=auth),
        dav_call("MOVE", _url(dav_account, "Reports"), auth=auth, destination=_destination(dav_account, "Moved")),
        dav_call(
            "COPY",
            _url(dav_account, f".snapshots/{label}/Reports/{FILE}"),
            auth=auth,
            destination=_destination(dav_account, f"Reports/{FILE}"),
        ),
        dav_call("PROPPATCH", _url(dav_account, "Reports"), auth=auth),
        dav_call("LOCK", _url(dav_account, "Reports"), auth=auth),
    ]
    assert [answer.status for answer in refused] == [403] * len(refused)
    assert b"read-only member" in refused[0].body
    assert Change.objects.for_tenant(tenant).count() == changes_before
    assert not RestoreJob.objects.for_tenant(tenant).exists()


def test_read_only_maintenance_refuses_writes_and_serves_reads(dav_call, dav_account) -> None:
    auth = (dav_account.email, dav_account.dav_token)
    tenant = dav_account.tenant
    file_write(tenant=tenant, path=f"/{FILE}", stream=IterableStream([b"x"]), content_length=1, acting_user=None)
    starts = datetime.now(tz=UTC) + timedelta(hours=1)
    maintenance_schedule(
        hubs=list(Hub.objects.filter(code=dav_account.tenant.hub_id)),
        title="Storage upgrade",
        description="New disks.",
        impact="read_only",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        emergency=True,
        emergency_reason="A failing disk in both facilities.",
    )
    with time_machine.travel(starts + timedelta(minutes=5), tick=False):
        assert dav_call("PUT", _url(dav_account, "new.txt"), body=b"x", auth=auth).status == 503
        assert dav_call("MKCOL", _url(dav_account, "Folder"), auth=auth).status == 503
        assert dav_call("GET", _url(dav_account, FILE), auth=auth).status == 200


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.exc_text or ''}")


def test_names_never_reach_a_log_line(dav_call, dav_account) -> None:
    """What reaches the root logger's handlers (the console the servers log to)."""
    auth = (dav_account.email, dav_account.dav_token)
    lines = _Lines()
    root = logging.getLogger()
    root.addHandler(lines)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        dav_call("PUT", _url(dav_account, f"{NAME_MARK}/{FILE}"), body=b"x", auth=auth)  # a missing folder: 409
        dav_call("MKCOL", _url(dav_account, NAME_MARK), auth=auth)
        dav_call("PUT", _url(dav_account, f"{NAME_MARK}/{FILE}"), body=b"x", auth=auth)
        dav_call("GET", _url(dav_account, f"{NAME_MARK}/missing-{FILE}"), auth=auth)
        dav_call("DELETE", _url(dav_account, f".snapshots/{NAME_MARK}"), auth=auth)
        # WsgiDAV quotes paths in its lines: what it says arrives as a level and an exception class only.
        logging.getLogger("wsgidav.request_server").error("PUT %s failed", f"/{NAME_MARK}/{FILE}")
    finally:
        root.removeHandler(lines)
        root.setLevel(level)
    assert any("details withheld" in line for line in lines.lines)
    assert not [line for line in lines.lines if NAME_MARK in line]


@given(
    chunks=st.lists(st.binary(max_size=50), max_size=20),
    sizes=st.lists(st.integers(min_value=-1, max_value=70), min_size=1, max_size=40),
)
def test_iterable_stream_returns_the_body_in_order_whatever_the_chunks_and_reads(chunks, sizes) -> None:
    stream = IterableStream(chunks)
    read = b"".join(stream.read(size) for size in sizes) + stream.read()
    assert read == b"".join(chunks)


def test_copy_of_a_folder_out_of_a_snapshot_is_one_restore_job(dav_call, dav_account) -> None:
    auth = (dav_account.email, dav_account.dav_token)
    tenant = dav_account.tenant
    for path in ("Reports", "Reports/2026", "Reports/2026/Q1"):
        assert dav_call("MKCOL", _url(dav_account, path), auth=auth).status == 201
    names = [f"Reports/{FILE}", f"Reports/2026/{FILE}", f"Reports/2026/Q1/{FILE}"]
    for name in names:
        assert dav_call("PUT", _url(dav_account, name), body=name.encode(), auth=auth).status == 201
    snapshot = snapshot_create(tenant=tenant, kind=Snapshot.Kind.MANUAL, acting_user=None)
    assert dav_call("DELETE", _url(dav_account, "Reports"), auth=auth).status == 204
    label = f"{snapshot.taken_at.astimezone(tenant.hub.zone):%Y-%m-%d %H.%M} manual"

    copied = dav_call(
        "COPY", _url(dav_account, f".snapshots/{label}/Reports"), auth=auth,
        destination=_destination(dav_account, "Reports"), depth="infinity",
    )  # fmt: skip
    assert copied.status == 201
    [job] = RestoreJob.objects.for_tenant(tenant)
    assert job.state == RestoreJob.State.SUCCEEDED and job.paths == ["/Reports"]
    for name in names:
        assert dav_call("GET", _url(dav_account, name), auth=auth).body == name.encode()
