"""The OpenAPI schema builds without warnings and validates; the docs page
uses only locally served assets."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from conftest import all_databases

pytestmark = all_databases

ENDPOINTS = {
    "/api/v1/me/": {"get"},
    "/api/v1/hubs/": {"get"},
    "/api/v1/files/": {"get", "delete"},
    "/api/v1/files/content": {"get", "put"},
    "/api/v1/files/folders": {"post"},
    "/api/v1/files/move": {"post"},
    "/api/v1/trash/": {"get"},
    "/api/v1/trash/restore": {"post"},
    "/api/v1/activity/": {"get"},
    "/api/v1/snapshots/schedule": {"get", "put"},
}


def test_schema_generates_and_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    stderr = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stderr=stderr)
    assert "Warning" not in stderr.getvalue() and "Error" not in stderr.getvalue()
    assert target.read_text().startswith("openapi: 3.")


def test_schema_is_served_and_describes_every_endpoint(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path, methods in ENDPOINTS.items():
        assert set(paths[path]) >= methods, path
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    listing = paths["/api/v1/files/"]["get"]
    assert {parameter["name"] for parameter in listing["parameters"]} == {"path", "cursor", "limit", "order"}
    assert "application/problem+json" in listing["responses"]["404"]["content"]
    upload = paths["/api/v1/files/content"]["put"]
    assert "application/octet-stream" in upload["requestBody"]["content"]
    assert {"200", "201", "412", "413", "507"} <= set(upload["responses"])
    assert set(paths["/api/v1/files/move"]["post"]["requestBody"]["content"]["application/json"]["schema"].values())
    move = schema["components"]["schemas"]["Move"]
    assert set(move["properties"]) == {"from", "to"}
    assert paths["/api/v1/hubs/"]["get"].get("security") in (None, [])


@pytest.mark.parametrize("url", ["/api/docs/"])
def test_docs_page_serves_only_local_assets(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the docs page should load Swagger UI"
    # Its start-up script comes from the page's own URL (no inline script, for the CSP).
    script_url = next(asset for asset in assets if "script" in asset and not asset.startswith("/static/"))
    assert script_url.startswith(url), assets
    assert all(asset.startswith("/static/") for asset in assets if asset != script_url), assets
    assert "cdn" not in html.lower()
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
