"""The API's rate limits count fixed windows (portal.api.throttling): over its
rate a client waits for the next window, and Retry-After says how long."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import time_machine
from rest_framework.throttling import UserRateThrottle

from conftest import all_databases
from portal.tests.api.conftest import problem

pytestmark = all_databases


def test_a_client_over_its_rate_waits_for_the_next_window(api: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(UserRateThrottle, "get_rate", lambda self: "2/min")
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, 10, tzinfo=UTC), tick=False) as traveller:
        assert [api.get("/api/v1/me/").status_code for _ in range(2)] == [200, 200]
        refused = api.get("/api/v1/me/")
        problem(refused, 429)
        assert int(refused["Retry-After"]) == 50
        traveller.shift(49)
        problem(api.get("/api/v1/me/"), 429)
        traveller.shift(1)
        assert api.get("/api/v1/me/").status_code == 200
