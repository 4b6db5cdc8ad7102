"""Input an attacker (or a broken client) sends: never a 500, always a problem
that says what was wrong (issue 10, "No 500 on any input")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from portal.tests.api.conftest import problem

pytestmark = pytest.mark.django_db(databases="__all__")

JSON_ENDPOINTS = [
    ("POST", "/api/v1/files/folders"),
    ("POST", "/api/v1/files/move"),
    ("POST", "/api/v1/snapshots/"),
    ("POST", "/api/v1/restores/"),
    ("POST", "/api/v1/trash/restore"),
    ("PUT", "/api/v1/snapshots/schedule"),
]


@pytest.mark.parametrize(("method", "url"), JSON_ENDPOINTS)
def test_json_nested_a_thousand_deep_is_a_400_problem(api: Any, method: str, url: str) -> None:
    body = "[" * 1000 + "]" * 1000
    response = api.client.generic(method, url, body, content_type="application/json")
    found = problem(response, 400)
    assert found["type"] == "urn:hubport:problem:malformed_body"
    assert "deep" in found["detail"]


def test_json_nested_just_within_the_limit_reaches_the_view(api: Any) -> None:
    # 20 levels inside a field the view validates: the view answers, not the parser.
    nested: Any = "x"
    for _ in range(20):
        nested = [nested]
    response = api.post("/api/v1/files/folders", {"path": nested})
    found = problem(response, 400)
    assert found["type"] == "urn:hubport:problem:invalid_input"


@pytest.mark.parametrize(("method", "url"), JSON_ENDPOINTS)
def test_json_over_the_body_limit_is_a_413_problem(api: Any, method: str, url: str, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    body = json.dumps({"path": "/a", "padding": "x" * (70 * 1024)})
    response = api.client.generic(method, url, body, content_type="application/json")
    found = problem(response, 413)
    assert found["type"] == "urn:hubport:problem:body_too_large"
    assert "64 KiB" in found["detail"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_unknown_api_paths_are_404_problems_for_every_method_even_with_a_session(make_tenant: Any, method: str) -> None:
    signup = make_tenant()
    client = Client(enforce_csrf_checks=True)
    client.force_login(signup.user)
    response = client.generic(method, "/api/v1/no-such-thing/", "{}", content_type="application/json")
    found = problem(response, 404)
    assert found["type"] == "urn:hubport:problem:not_found"


@pytest.mark.parametrize(
    ("name", "code_point"),
    [
        ("invoice\u202etxt.exe", "U+202E"),
        ("a\u2066b", "U+2066"),
        ("c1\u0085control", "U+0085"),
        ("zero\u200bwidth", "U+200B"),
        ("bom\ufeffname", "U+FEFF"),
        ("non\ufdd0char", "U+FDD0"),
        ("plane\U0001fffeend", "U+1FFFE"),
    ],
)
def test_names_with_invisible_or_reordering_characters_are_refused_by_code_point(
    api: Any, name: str, code_point: str
) -> None:
    response = api.post("/api/v1/files/folders", {"path": f"/{name}"})
    found = problem(response, 400)
    assert code_point in found["detail"]
    assert api.tree() == {}
