"""Fixtures for the REST API tests: a tenant with a token, and a client that
sends it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from hubs.models import Tenant
from portal.models import User
from portal.tokens import api_token_create
from snapshots import selectors
from snapshots.services import file_write, folder_create


@dataclass
class ApiCaller:
    """A tenant, its owner, a token for them, and a test client sending it."""

    tenant: Tenant
    user: User
    token: str
    client: Client

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.client.delete(url, **kwargs)

    def post(self, url: str, body: Any, **kwargs: Any) -> Any:
        return self.client.post(url, body, content_type="application/json", **kwargs)

    def put_bytes(self, path: str, content: bytes, **extra: Any) -> Any:
        from urllib.parse import urlencode

        return self.client.generic(
            "PUT",
            f"/api/v1/files/content?{urlencode({'path': path})}",
            data=content,
            content_type="application/octet-stream",
            **extra,
        )

    # The store, written and read directly, to set scenes and check outcomes.

    def write(self, path: str, content: bytes = b"hello") -> Any:
        import io

        return file_write(
            tenant=self.tenant,
            path=path,
            stream=io.BytesIO(content),
            content_length=len(content),
            acting_user=self.user,
        )

    def mkdir(self, path: str) -> Any:
        return folder_create(tenant=self.tenant, path=path, acting_user=self.user)

    def tree(self) -> dict[str, str | None]:
        return selectors.tree_as_of(tenant=self.tenant)

    def clock(self) -> int:
        return selectors.clock_now(tenant=self.tenant)


def make_caller(make_tenant: Any, *, hub: str = "uk") -> ApiCaller:
    signup = make_tenant(hub=hub)
    _, raw = api_token_create(user=signup.user, tenant=signup.tenant, name="tests")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return ApiCaller(tenant=signup.tenant, user=signup.user, token=raw, client=client)


@pytest.fixture
def api(make_tenant: Any) -> ApiCaller:
    return make_caller(make_tenant)


@pytest.fixture
def other_api(make_tenant: Any) -> ApiCaller:
    """A second tenant in the same hub."""
    return make_caller(make_tenant)


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    """Throttle counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def spool_files() -> set[Path]:
    directory = Path(settings.DATA_DIR) / "tmp" / "uploads"
    return set(directory.iterdir()) if directory.exists() else set()


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert re.fullmatch(r"urn:hubport:problem:[a-z]+(_[a-z0-9]+)*", body["type"]), body["type"]
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def max_queries_all_databases() -> Any:
    """``with max_queries_all_databases(n):`` fails when the block runs more
    than ``n`` queries on all databases together (control and every hub).
    pytest-django's ``django_assert_max_num_queries`` counts one connection
    (``using``/``connection``), so a request that moved its queries from one
    database to the other would pass it unnoticed."""
    from contextlib import ExitStack, contextmanager

    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    @contextmanager
    def counting(limit: int) -> Iterator[dict[str, CaptureQueriesContext]]:
        with ExitStack() as stack:
            captured = {alias: stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections}
            yield captured
        ran = [(alias, query["sql"]) for alias, context in captured.items() for query in context.captured_queries]
        listing = "\n".join(f"{alias}: {sql[:160]}" for alias, sql in ran)
        assert len(ran) <= limit, f"{len(ran)} queries, at most {limit} allowed:\n{listing}"

    return counting
