"""One restore request, three edges: the restore dialog, the admin's restore
on a customer's behalf and the REST API each parse their own input into one
RestoreRequest, and the restore service decides every rule. So the same bad
request is refused by all three with the service's own reason."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import all_databases
from portal.tests.admin.test_accounts import login_verified
from portal.tests.api.conftest import ApiCaller, make_caller
from snapshots import services
from snapshots.errors import StoreError
from snapshots.models import RestoreJob
from snapshots.services import RestoreRequest

pytestmark = all_databases

# (name, the request's options, as the page, the admin and the API each take them)
BAD_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("unknown policy", {"paths": ["/Docs"], "conflict": "explode"}),
    ("a path that did not exist then", {"paths": ["/Never/there"]}),
    ("a path that is no path", {"paths": ["/Docs/../etc"]}),
    ("a target inside what is restored", {"paths": ["/Docs"], "target": "/Docs/inside"}),
    ("a target that is a file", {"paths": ["/Docs"], "target": "/keep.txt"}),
    ("a folder target with no folder", {"paths": ["/Docs"], "target": ""}),
]


def write(caller: ApiCaller, path: str, content: bytes) -> None:
    services.file_write(
        tenant=caller.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=None
    )


def page_refusal(client: Client, snapshot_id: int, options: dict[str, Any]) -> str:
    query: dict[str, Any] = {"snapshot": snapshot_id, "paths": options["paths"]}
    query["conflict"] = options.get("conflict", "rename")
    if "target" in options:
        query.update({"target": "folder", "folder": options["target"]})
    response = client.get(reverse("snapshot_restore"), query)
    assert response.status_code == 200 and response.context["preview"] is None
    return response.context["error"]


def admin_refusal(client: Client, tenant_id: int, snapshot_id: int, options: dict[str, Any]) -> str:
    form = {
        "source": "snapshot",
        "snapshot": str(snapshot_id),
        "at": "",
        "paths": "\n".join(options["paths"]),
        "target_kind": "folder" if "target" in options else "original",
        "target_folder": options.get("target", ""),
        "conflict": options.get("conflict", "rename"),
        "_preview": "1",
    }
    response = client.post(f"/admin/hubs/tenant/{tenant_id}/restores/new/", form)
    assert response.status_code == 200 and response.context["preview"] is None
    [message] = [str(message) for message in get_messages(response.wsgi_request)]
    return message.removeprefix("The restore was refused: ")


def api_refusal(caller: ApiCaller, snapshot_id: int, options: dict[str, Any]) -> str:
    body: dict[str, Any] = {"snapshot": snapshot_id, "paths": options["paths"], "dry_run": True}
    body.update({key: options[key] for key in ("conflict", "target") if key in options})
    response = caller.post("/api/v1/restores/", body)
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()["detail"]


@pytest.mark.parametrize(("case", "options"), BAD_REQUESTS, ids=[case for case, _ in BAD_REQUESTS])
def test_the_three_edges_refuse_a_bad_request_with_the_services_reason(case, options, make_tenant, client):
    caller = make_caller(make_tenant)
    write(caller, "/Docs/a.txt", b"a")
    write(caller, "/keep.txt", b"keep")
    snapshot = services.snapshot_create(tenant=caller.tenant)
    request = RestoreRequest(
        snapshot_id=snapshot.pk,
        paths=tuple(options["paths"]),
        target=options.get("target"),
        conflict=options.get("conflict", "rename"),
    )
    with pytest.raises(StoreError) as refused:
        services.restore_preview(tenant=caller.tenant, request=request)
    reason = refused.value.detail

    client.force_login(caller.user)
    assert page_refusal(client, snapshot.pk, options) == reason
    client.logout()
    login_verified(client)
    assert admin_refusal(client, caller.tenant.pk, snapshot.pk, options) == reason
    assert api_refusal(caller, snapshot.pk, options) == reason
    assert not RestoreJob.objects.for_tenant(caller.tenant).exists()


def test_a_source_outside_the_retention_is_refused_alike(make_tenant, client):
    """The page reads its source first (to show it), the admin and the API with
    the rest of the request: all three refuse with the service's reason."""
    caller, other = make_caller(make_tenant), make_caller(make_tenant)
    write(caller, "/a.txt", b"a")
    foreign = services.snapshot_create(tenant=other.tenant)
    with pytest.raises(StoreError) as refused:
        services.restore_preview(tenant=caller.tenant, request=RestoreRequest(snapshot_id=foreign.pk))
    reason = refused.value.detail

    client.force_login(caller.user)
    page = client.get(reverse("snapshot_restore"), {"snapshot": foreign.pk, "paths": ["/"]})
    assert page.status_code == 404 and reason in page.content.decode()
    client.logout()
    login_verified(client)
    assert admin_refusal(client, caller.tenant.pk, foreign.pk, {"paths": []}) == reason
    assert api_refusal(caller, foreign.pk, {"paths": ["/a.txt"]}) == reason


def test_too_many_paths_are_the_services_refusal_for_the_admin_and_the_api(make_tenant, client):
    """(The dialog cannot send that many: Django refuses a request of more
    than 1,000 fields before any view sees it.)"""
    caller = make_caller(make_tenant)
    write(caller, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=caller.tenant)
    paths = [f"/f{n}" for n in range(1001)]
    with pytest.raises(StoreError) as refused:
        services.restore_preview(tenant=caller.tenant, request=RestoreRequest(snapshot_id=snapshot.pk, paths=paths))
    reason = refused.value.detail
    assert "at most 1,000 paths" in reason
    login_verified(client)
    assert admin_refusal(client, caller.tenant.pk, snapshot.pk, {"paths": paths}) == reason
    assert api_refusal(caller, snapshot.pk, {"paths": paths}) == reason


def test_a_moment_without_a_time_zone_is_the_services_refusal_over_the_api(make_tenant):
    caller = make_caller(make_tenant)
    naive = (timezone.now() - timedelta(hours=1)).replace(tzinfo=None)
    with pytest.raises(StoreError) as refused:
        services.restore_preview(tenant=caller.tenant, request=RestoreRequest(at=naive))
    response = caller.post("/api/v1/restores/", {"at": naive.isoformat(), "dry_run": True})
    assert response.status_code == 400 and response.json()["detail"] == refused.value.detail
