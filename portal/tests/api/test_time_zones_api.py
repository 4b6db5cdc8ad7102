"""The API gives every time with its offset (ISO 8601), in the caller's zone:
their own (their profile), else their workspace hub's; the same with a token
as in the browser session. The schema says so."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import time_machine
from django.test import Client

from conftest import all_databases
from portal.services.accounts import user_time_zone_set
from portal.tests.api.conftest import make_caller
from snapshots import services
from snapshots.services import RestoreRequest

pytestmark = all_databases

MOMENT = datetime(2026, 11, 24, 10, 42, tzinfo=UTC)  # 19:42 JST, 21:42 AEDT, 10:42 GMT
ISO_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def moments(body: Any) -> list[str]:
    """Every string in a JSON body that reads as a date and time."""
    if isinstance(body, dict):
        return [value for item in body.values() for value in moments(item)]
    if isinstance(body, list):
        return [value for item in body for value in moments(item)]
    return [body] if isinstance(body, str) and ISO_MOMENT.match(body) else []


def history(api) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(MOMENT, tick=False):
        version = api.write("/Reports/q1.pdf", b"first")
        api.write("/Reports/q1.pdf", b"second")
        api.write("/old.txt", b"old")
        services.node_delete(tenant=api.tenant, path="/old.txt", acting_user=api.user)
        snapshot = services.snapshot_create(tenant=api.tenant, acting_user=api.user)
        services.restore_start(
            tenant=api.tenant,
            acting_user=api.user,
            request=RestoreRequest(snapshot_id=snapshot.pk, paths=("/Reports",)),
        )
    return version


ENDPOINTS = [
    "/api/v1/files/?path=/Reports",
    "/api/v1/trash/",
    "/api/v1/activity/",
    "/api/v1/snapshots/",
    "/api/v1/restores/",
    "/api/v1/files/versions?path=/Reports/q1.pdf",
]


def test_a_token_caller_with_a_zone_gets_every_time_in_it_with_its_offset(make_tenant) -> None:
    api = make_caller(make_tenant, hub="uk")
    user_time_zone_set(user=api.user, time_zone="Asia/Tokyo")
    history(api)
    with time_machine.travel(MOMENT, tick=False):
        for url in ENDPOINTS:
            response = api.get(url)
            assert response.status_code == 200, url
            found = moments(response.json())
            assert found, url
            assert all(OFFSET.search(value) for value in found), (url, found)
            assert all(value.endswith("+09:00") for value in found), (url, found)
        assert "2026-11-24T19:42:00+09:00" in moments(api.get(ENDPOINTS[0]).json())
        assert api.get("/api/v1/me/").json()["user"]["time_zone"] == "Asia/Tokyo"


def test_without_a_choice_the_api_speaks_the_hubs_zone(make_tenant) -> None:
    api = make_caller(make_tenant, hub="au")
    history(api)
    with time_machine.travel(MOMENT, tick=False):
        found = moments(api.get("/api/v1/activity/").json())
        me = api.get("/api/v1/me/").json()
    assert found and all(value.endswith("+11:00") for value in found)
    assert "2026-11-24T21:42:00+11:00" in found
    assert me["user"]["time_zone"] == "Australia/Sydney"


def test_the_browser_session_and_a_token_agree(make_tenant) -> None:
    api = make_caller(make_tenant, hub="uk")
    user_time_zone_set(user=api.user, time_zone="Asia/Tokyo")
    history(api)
    browser = Client()
    browser.force_login(api.user)
    with time_machine.travel(MOMENT, tick=False):
        by_token = api.get("/api/v1/activity/").json()
        by_session = browser.get("/api/v1/activity/").json()
    assert moments(by_session) == moments(by_token)


def test_the_schema_says_which_zone_times_are_in(client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    assert "offset" in schema["info"]["description"] and "time zone" in schema["info"]["description"]
    assert "binary" in schema["info"]["description"]
