"""One error path: domain errors carry codes, never statuses; one table at the
edge maps every code to its status; one builder makes every problem."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import portal.uploads  # noqa: F401  (its edge refusals are domain errors too)
import snapshots.errors
from conftest import all_databases
from hubs.errors import DomainError, HubChangeError, HubFailoverError, MaintenanceRefused
from hubs.models import MaintenanceWindow
from hubs.services.maintenance import maintenance_schedule
from portal.api.files import views as files_api
from portal.problems import STATUS_BY_CODE, problem_body, status_for
from portal.tests.api.conftest import make_caller, problem
from portal.views.files import activity as activity_views
from snapshots.errors import StoreError
from snapshots.services import file_write

SNAKE_CASE = re.compile(r"[a-z]+(_[a-z0-9]+)*")


@pytest.fixture
def api(make_tenant):
    return make_caller(make_tenant)


def every_domain_error() -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    pending = list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_domain_error_has_a_snake_case_code_in_the_table_and_no_status() -> None:
    errors = every_domain_error()
    assert StoreError in errors and snapshots.errors.OutsideRetention in errors
    for cls in errors:
        if cls is StoreError:
            continue  # the store's base class; only its subclasses are raised
        assert SNAKE_CASE.fullmatch(cls.code), cls
        assert cls.code in STATUS_BY_CODE, cls
        assert cls.title and cls.title != DomainError.title, cls
        assert not hasattr(cls, "status"), cls


def test_codes_are_unique_per_error() -> None:
    codes = [cls.code for cls in every_domain_error() if cls is not StoreError]
    assert len(codes) == len(set(codes))


def test_the_table_decides_the_status_and_an_unknown_code_is_400() -> None:
    assert status_for("not_found") == 404
    assert status_for("name_taken") == 409
    assert status_for("quota_exceeded") == 507
    assert status_for("storage_unavailable") == 503
    assert status_for("no_such_code") == 400
    body = problem_body(code="quota_exceeded", title="Storage quota exceeded", detail="Full.")
    assert body == {
        "type": "urn:hubport:problem:quota_exceeded",
        "title": "Storage quota exceeded",
        "status": 507,
        "detail": "Full.",
    }


def test_the_errors_of_hubs_are_domain_errors() -> None:
    refused = MaintenanceRefused(["Give the window a title.", "Choose at least one hub."])
    assert isinstance(refused, DomainError)
    assert refused.code == "maintenance_refused"
    assert refused.detail == "Give the window a title. Choose at least one hub."
    assert refused.reasons == refused.values["reasons"] == ["Give the window a title.", "Choose at least one hub."]
    assert HubFailoverError("x").code == "failover_refused"
    assert HubChangeError("x").code == "hub_immutable"


def test_the_store_errors_of_restores_live_in_snapshots_errors() -> None:
    for name in ("RestoreRefused", "RestoreFinished", "OutsideRetention"):
        assert issubclass(getattr(snapshots.errors, name), StoreError)


@all_databases
@pytest.mark.parametrize(
    ("scene", "code", "status"),
    [
        ("missing", "not_found", 404),
        ("taken", "name_taken", 409),
        ("over_quota", "quota_exceeded", 507),
        ("outside_retention", "outside_retention", 422),
    ],
)
def test_api_problems_are_typed_by_their_code(api, scene: str, code: str, status: int) -> None:
    api.mkdir("/Taken")
    if scene == "missing":
        response = api.get("/api/v1/files/?path=/Nowhere")
    elif scene == "taken":
        response = api.post("/api/v1/files/folders", {"path": "/Taken"})
    elif scene == "over_quota":
        api.tenant.quota_bytes = 1
        api.tenant.save(update_fields=["quota_bytes"])
        response = api.put_bytes("/big.bin", b"xx")
    else:
        response = api.post("/api/v1/restores/", {"at": "2000-01-01T00:00:00Z"})
    assert problem(response, status)["type"] == f"urn:hubport:problem:{code}"


# SECTION: the API, the page's JSON and the middleware answer alike


def page_upload(client, path: str, content: bytes, **extra):
    return client.generic(
        "PUT",
        f"{reverse('files_upload')}?{urlencode({'path': path})}",
        data=content,
        content_type="application/octet-stream",
        HTTP_ACCEPT="application/json",
        **extra,
    )


def read_only_window(api) -> None:
    """A read-only window running now in the caller's hub."""
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        saturday = timezone.now() + timedelta(days=(5 - timezone.now().weekday()) % 7 + 7)
        starts = saturday.replace(hour=1, minute=0, second=0, microsecond=0)
        window = maintenance_schedule(
            hubs=[api.tenant.hub],
            title="Disks",
            impact="read_only",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
        )
    MaintenanceWindow.objects.filter(pk=window.pk).update(
        starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(hours=1)
    )


def scene(api, code: str) -> tuple[str, bytes, dict]:
    """Sets the scene for ``code``; the upload (path, bytes, extra WSGI keys) that then meets it."""
    if code == "wrong_kind":
        api.mkdir("/Taken")
        return "/Taken", b"x", {}
    if code == "file_too_large":
        api.tenant.max_file_bytes = 1
        api.tenant.save(update_fields=["max_file_bytes"])
    if code == "quota_exceeded":
        api.tenant.quota_bytes = 1
        api.tenant.save(update_fields=["quota_bytes"])
    if code == "length_required":
        return "/a.bin", b"", {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"xx")}
    if code == "maintenance_read_only":
        read_only_window(api)
    return "/a.bin", b"xx", {}


@all_databases
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("wrong_kind", 409),
        ("file_too_large", 413),
        ("quota_exceeded", 507),
        ("length_required", 411),
        ("maintenance_read_only", 503),
    ],
)
def test_api_page_json_and_middleware_answer_the_same_problem(api, client, code: str, status: int) -> None:
    path, content, extra = scene(api, code)
    client.force_login(api.user)
    through_api = problem(api.put_bytes(path, content, **extra), status)
    if "wsgi.input" in extra:
        extra["wsgi.input"].seek(0)
    through_page = problem(page_upload(client, path, content, **extra), status)
    assert through_api["type"] == through_page["type"] == f"urn:hubport:problem:{code}"
    assert set(through_api) == set(through_page)
    assert through_api["title"] == through_page["title"]
    assert api.tree() == ({} if code != "wrong_kind" else {"/Taken": None})


@all_databases
def test_a_store_error_is_the_same_problem_through_the_api_and_the_page(api, client) -> None:
    file_write(tenant=api.tenant, path="/Taken/a.txt", stream=io.BytesIO(b"a"), content_length=1, acting_user=api.user)
    client.force_login(api.user)
    through_api = problem(api.put_bytes("/Taken", b"x"), 409)
    through_page = client.put(
        f"{reverse('files_upload')}?path=/Taken", data=b"x", content_type="application/octet-stream"
    )
    assert problem(through_page, 409) == through_api
    assert through_api["type"] == "urn:hubport:problem:wrong_kind"


# SECTION: a refusal is logged once, with its code and ids, never as an error

SECRET_NAME = "salaries-2026.xlsx"


def over_quota(api) -> None:
    api.tenant.quota_bytes = 1
    api.tenant.save(update_fields=["quota_bytes"])


def refusals_logged(caplog) -> list[logging.LogRecord]:
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text
    assert not [record for record in caplog.records if record.name == "django.request"], caplog.text
    assert SECRET_NAME not in caplog.text
    return [record for record in caplog.records if record.name == "portal.refusals"]


@all_databases
def test_a_quota_refusal_through_the_api_is_logged_once_at_info(api, caplog) -> None:
    over_quota(api)
    caplog.set_level(logging.INFO)
    problem(api.put_bytes(f"/Finance/{SECRET_NAME}", b"xx"), 507)
    [record] = refusals_logged(caplog)
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        f"Refused PUT api_file_content: quota_exceeded (507), tenant {api.tenant.pk}, user {api.user.pk}"
    )


@all_databases
def test_a_quota_refusal_through_the_page_is_logged_once_at_info(api, client, caplog) -> None:
    over_quota(api)
    client.force_login(api.user)
    caplog.set_level(logging.INFO)
    problem(page_upload(client, f"/Finance/{SECRET_NAME}", b"xx"), 507)
    [record] = refusals_logged(caplog)
    assert record.levelno == logging.INFO
    assert "files_upload: quota_exceeded (507)" in record.getMessage()


@all_databases
def test_a_page_refusal_answered_with_the_problem_page_is_logged_at_info(api, client, caplog) -> None:
    client.force_login(api.user)
    caplog.set_level(logging.INFO)
    assert client.get(reverse("files_download"), {"path": f"/Finance/{SECRET_NAME}"}).status_code == 404
    [record] = refusals_logged(caplog)
    assert record.levelno == logging.INFO and "files_download: not_found (404)" in record.getMessage()


@all_databases
def test_maintenance_refusals_are_logged_once_at_warning(api, client, caplog) -> None:
    read_only_window(api)
    client.force_login(api.user)
    caplog.set_level(logging.INFO)
    problem(api.put_bytes(f"/{SECRET_NAME}", b"xx"), 503)
    assert client.post(reverse("files_folder_new"), {"parent": "/", "name": SECRET_NAME}).status_code == 503
    records = refusals_logged(caplog)
    assert [(record.levelno, "maintenance_read_only (503)" in record.getMessage()) for record in records] == [
        (logging.WARNING, True),
        (logging.WARNING, True),
    ]
    assert "api_file_content" in records[0].getMessage() and "files_folder_new" in records[1].getMessage()


@all_databases
def test_an_unexpected_error_is_still_logged_at_error(api, caplog, monkeypatch) -> None:
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(files_api, "file_write", broken)
    monkeypatch.setattr(activity_views.selectors, "activity", broken)
    caplog.set_level(logging.INFO)
    problem(api.put_bytes("/a.bin", b"xx"), 500)
    assert [record.name for record in caplog.records if record.levelno >= logging.ERROR][:1] == [
        "portal.api.exceptions"
    ]
    caplog.clear()
    browser = Client(raise_request_exception=False)
    browser.force_login(api.user)
    assert browser.get(reverse("activity")).status_code == 500
    assert [record.name for record in caplog.records if record.levelno >= logging.ERROR] == ["django.request"]
    assert not [record for record in caplog.records if record.name == "portal.refusals"]
