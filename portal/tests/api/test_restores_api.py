"""/api/v1/restores/: start a restore from a snapshot or a moment, preview it,
follow it, cancel it; every refusal is a clear problem and starts nothing."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone

from conftest import all_databases
from portal.tests.api.conftest import make_caller, problem
from snapshots import services
from snapshots.models import RestoreJob, Snapshot
from snapshots.services import RestoreRequest, node_delete

pytestmark = all_databases


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def content(caller, path: str) -> bytes:
    response = caller.get(f"/api/v1/files/content?{urlencode({'path': path})}")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def jobs(caller) -> int:
    return RestoreJob.objects.for_tenant(caller.tenant).count()


def state_of(caller) -> tuple:
    """Everything a refused or dry-run restore must leave as it was."""
    return (
        caller.tree(),
        caller.clock(),
        jobs(caller),
        Snapshot.objects.for_tenant(caller.tenant).count(),
    )


@pytest.fixture
def deleted_project(api):
    """A folder, a snapshot of it, then the folder deleted and a file overwritten."""
    api.write("/Projects/plan.txt", b"the plan")
    api.write("/Projects/deep/spec.txt", b"the spec")
    api.write("/notes.txt", b"good notes")
    snapshot = services.snapshot_create(tenant=api.tenant, acting_user=api.user)
    node_delete(tenant=api.tenant, path="/Projects", acting_user=api.user)
    api.write("/notes.txt", b"bad notes")
    return snapshot


# SECTION: starting and following


def test_a_restore_is_queued_with_its_url_then_runs_and_brings_the_bytes_back(api, deleted_project):
    response = api.post("/api/v1/restores/", {"snapshot": deleted_project.pk, "paths": ["/Projects"]})

    assert response.status_code == 202
    job = response.json()
    assert response["Location"] == job["url"] == f"http://testserver/api/v1/restores/{job['id']}"
    assert job["state"] == "queued"
    assert job["progress"] == {"done": 0, "total": 0, "percent": 0}
    assert job["source"] == {"snapshot": deleted_project.pk, "at": job["source"]["at"]}
    assert job["paths"] == ["/Projects"]
    assert (job["target"], job["conflict"]) == ("original", "rename")
    assert job["requested_by"] == api.user.email and job["by_support"] is False
    pre_restore = Snapshot.objects.for_tenant(api.tenant).get(pk=job["pre_restore_snapshot"])
    assert pre_restore.kind == Snapshot.Kind.PRE_RESTORE

    services.restore_run(tenant=api.tenant, job_id=job["id"])

    done = api.get(f"/api/v1/restores/{job['id']}").json()
    assert done["state"] == "succeeded"
    assert done["progress"] == {"done": 4, "total": 4, "percent": 100}
    assert done["summary"] == {
        "restored": 4,
        "renamed": 0,
        "overwritten": 0,
        "skipped": 0,
        "unchanged": 0,
        "failed": 0,
        "removed": 0,
    }
    assert done["failures"] == [] and done["error"] == ""
    assert done["started_at"] and done["finished_at"]
    assert content(api, "/Projects/plan.txt") == b"the plan"
    assert content(api, "/Projects/deep/spec.txt") == b"the spec"


def test_restore_from_a_moment_with_overwrite_into_the_original_place(api):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=2), tick=False):
        api.write("/doc.txt", b"two days ago")
    with time_machine.travel(now - timedelta(hours=1), tick=False):
        api.write("/doc.txt", b"an hour ago")
    moment = (now - timedelta(days=1)).astimezone(timezone.get_fixed_timezone(120)).isoformat()

    response = api.post("/api/v1/restores/", {"at": moment, "paths": ["/doc.txt"], "conflict": "overwrite"})
    assert response.status_code == 202, response.content
    assert response.json()["source"]["snapshot"] is None
    services.restore_run(tenant=api.tenant, job_id=response.json()["id"])

    assert api.get(response["Location"]).json()["summary"]["overwritten"] == 1
    assert content(api, "/doc.txt") == b"two days ago"


def test_restore_everything_into_a_new_folder_with_the_rename_policy(api, deleted_project):
    response = api.post("/api/v1/restores/", {"snapshot": deleted_project.pk, "target": "/Recovered"})
    assert response.status_code == 202, response.content
    assert response.json()["target"] == "/Recovered"
    services.restore_run(tenant=api.tenant, job_id=response.json()["id"])
    assert content(api, "/Recovered/notes.txt") == b"good notes"
    assert content(api, "/Recovered/Projects/deep/spec.txt") == b"the spec"
    assert content(api, "/notes.txt") == b"bad notes"


def test_a_dry_run_answers_the_preview_and_changes_nothing(api, deleted_project):
    before = state_of(api)

    response = api.post(
        "/api/v1/restores/", {"snapshot": deleted_project.pk, "paths": ["/Projects", "/notes.txt"], "dry_run": True}
    )

    assert response.status_code == 200, response.content
    preview = response.json()
    assert preview["dry_run"] is True
    assert preview["total_items"] == 5
    assert preview["counts"] == {
        "restored": 4,
        "renamed": 1,
        "overwritten": 0,
        "skipped": 0,
        "unchanged": 0,
        "failed": 0,
        "removed": 0,
    }
    renamed = [item for item in preview["items"] if item["action"] == "renamed"]
    assert len(renamed) == 1 and renamed[0]["path"].startswith("/notes (restored ")
    assert preview["failures"] == []
    assert "Location" not in response
    assert state_of(api) == before


def test_the_job_list_is_newest_first_and_pages(api, deleted_project):
    made = [
        api.post("/api/v1/restores/", {"snapshot": deleted_project.pk, "paths": [path]}).json()["id"]
        for path in ("/notes.txt", "/Projects", "/Projects/plan.txt")
    ]
    seen: list[int] = []
    url = "/api/v1/restores/?limit=2"
    while url:
        body = api.get(url).json()
        assert len(body["items"]) <= 2
        seen.extend(item["id"] for item in body["items"])
        url = body["next"]
    assert seen == list(reversed(made))


def test_cancel_a_queued_job_then_cancel_again_is_a_409(api, deleted_project):
    job = api.post("/api/v1/restores/", {"snapshot": deleted_project.pk}).json()

    response = api.post(f"/api/v1/restores/{job['id']}/cancel", None)

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled" and response.json()["cancel_requested"] is True
    again = problem(api.post(f"/api/v1/restores/{job['id']}/cancel", None), 409)
    assert "already ended" in again["detail"]
    services.restore_run(tenant=api.tenant, job_id=job["id"])  # a late worker leaves it alone
    assert api.get(job["url"]).json()["state"] == "cancelled"
    assert "Projects" not in {path.split("/")[1] for path in api.tree()}


def test_cancelling_a_finished_job_is_a_409(api, deleted_project):
    job = api.post("/api/v1/restores/", {"snapshot": deleted_project.pk, "paths": ["/Projects"]}).json()
    services.restore_run(tenant=api.tenant, job_id=job["id"])
    problem(api.post(f"/api/v1/restores/{job['id']}/cancel", None), 409)
    assert api.get(job["url"]).json()["state"] == "succeeded"


# SECTION: refusals


def refusals(snapshot_id: int, expired_id: int) -> list:
    now = timezone.now()
    return [
        # (body, status, text in detail)
        ({}, 400, "Choose a snapshot or a moment"),
        ({"snapshot": snapshot_id, "at": now.isoformat()}, 400, "not both"),
        ({"at": (now - timedelta(days=29)).isoformat()}, 422, "more than 28 days ago"),
        ({"at": (now + timedelta(days=1)).isoformat()}, 422, "future"),
        ({"at": "2026-11-24T10:42:00"}, 400, "time zone"),
        ({"at": "yesterday"}, 400, "at:"),
        ({"at": 1700000000}, 400, "at:"),
        ({"snapshot": "one"}, 400, "snapshot:"),
        ({"snapshot": 0}, 404, "no snapshot 0"),
        ({"snapshot": 2**63}, 404, f"no snapshot {2**63}"),
        ({"snapshot": snapshot_id + 10_000}, 404, f"no snapshot {snapshot_id + 10_000}"),
        ({"snapshot": expired_id}, 404, f"no snapshot {expired_id}"),
        ({"snapshot": snapshot_id, "paths": ["/Never"]}, 404, "/Never did not exist at that time"),
        ({"snapshot": snapshot_id, "paths": "/Projects"}, 400, "paths:"),
        ({"snapshot": snapshot_id, "paths": []}, 400, "paths:"),
        ({"snapshot": snapshot_id, "paths": [5]}, 400, "paths.0: Not a valid string"),
        ({"snapshot": snapshot_id, "paths": ["relative"]}, 400, ""),
        ({"snapshot": snapshot_id, "paths": ["/x"] * 1001}, 400, "at most 1,000 paths"),
        ({"snapshot": snapshot_id, "paths": ["/Projects"], "target": "/Projects/inside"}, 400, "inside what is being"),
        ({"snapshot": snapshot_id, "target": "/Projects"}, 400, "inside what is being"),
        ({"snapshot": snapshot_id, "paths": ["/Projects"], "target": "/notes.txt"}, 400, "is a file"),
        ({"snapshot": snapshot_id, "conflict": "replace"}, 400, "Unknown conflict policy 'replace'"),
        ({"snapshot": snapshot_id, "paths": ["/Projects"], "target": ""}, 400, "Give the folder to restore into"),
        ({"snapshot": snapshot_id, "dry_run": "perhaps"}, 400, "dry_run:"),
        ({"snapshot": snapshot_id, "path": ["/Projects"]}, 400, "path: Unknown field"),
        (["/Projects"], 400, ""),
    ]


def test_every_bad_request_is_a_clear_problem_and_starts_nothing(api, deleted_project):
    with time_machine.travel(timezone.now() - timedelta(days=29), tick=False):
        expired = services.snapshot_create(tenant=api.tenant, acting_user=api.user)
    before = state_of(api)
    for body, status, text in refusals(deleted_project.pk, expired.pk):
        for dry_run in (False, True):
            sent = {**body, "dry_run": True} if dry_run and isinstance(body, dict) and "dry_run" not in body else body
            detail = problem(api.post("/api/v1/restores/", sent), status)["detail"]
            assert text in detail, (body, detail)
    assert state_of(api) == before


def test_malformed_json_is_a_400_and_starts_nothing(api, deleted_project):
    before = state_of(api)
    response = api.client.post("/api/v1/restores/", '{"snapshot": ', content_type="application/json")
    problem(response, 400)
    assert state_of(api) == before


@pytest.mark.parametrize("job_id", [0, 2**63, 10**30])
def test_job_ids_no_database_holds_are_missing_not_errors(api, job_id):
    problem(api.get(f"/api/v1/restores/{job_id}"), 404)
    problem(api.post(f"/api/v1/restores/{job_id}/cancel", None), 404)


# SECTION: another tenant's snapshots and jobs


@pytest.fixture(params=["uk", "de"], ids=["same-hub", "other-hub"])
def victim(request, make_tenant):
    caller = make_caller(make_tenant, hub=request.param)
    caller.write("/Victim/secret.txt", b"the victim's secret")
    snapshot = services.snapshot_create(tenant=caller.tenant, acting_user=caller.user)
    node_delete(tenant=caller.tenant, path="/Victim", acting_user=caller.user)
    caller.snapshot = snapshot
    caller.job = services.restore_start(
        tenant=caller.tenant, acting_user=caller.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    return caller


def test_another_tenants_snapshot_and_job_ids_answer_exactly_like_unknown_ones(make_tenant, victim):
    """A fresh tenant has no snapshot or job of its own, so in another hub's
    database the same numbers cannot be the caller's own ids either."""
    attacker = make_caller(make_tenant, hub="uk")
    attacker_before, victim_before = state_of(attacker), state_of(victim)
    unknown_snapshot, unknown_job = victim.snapshot.pk + 10_000, victim.job.pk + 10_000

    def same(foreign, missing, foreign_id, unknown_id):
        foreign_body, missing_body = problem(foreign, 404), problem(missing, 404)
        assert foreign_body == {
            **missing_body,
            "detail": missing_body["detail"].replace(str(unknown_id), str(foreign_id)),
        }

    for dry_run in (False, True):
        same(
            attacker.post("/api/v1/restores/", {"snapshot": victim.snapshot.pk, "dry_run": dry_run}),
            attacker.post("/api/v1/restores/", {"snapshot": unknown_snapshot, "dry_run": dry_run}),
            victim.snapshot.pk,
            unknown_snapshot,
        )
    same(
        attacker.get(f"/api/v1/restores/{victim.job.pk}"),
        attacker.get(f"/api/v1/restores/{unknown_job}"),
        victim.job.pk,
        unknown_job,
    )
    same(
        attacker.post(f"/api/v1/restores/{victim.job.pk}/cancel", None),
        attacker.post(f"/api/v1/restores/{unknown_job}/cancel", None),
        victim.job.pk,
        unknown_job,
    )
    assert attacker.get("/api/v1/restores/").json()["items"] == []
    assert state_of(attacker) == attacker_before and state_of(victim) == victim_before
    assert victim.get(f"/api/v1/restores/{victim.job.pk}").json()["state"] == "queued"


# SECTION: through a real worker


@pytest.mark.worker
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_restore_through_the_api_runs_on_a_real_worker(api, celery_worker):
    api.write("/Album/one.jpg", b"\xff\xd8 first photo")
    api.write("/Album/two.jpg", b"\xff\xd8 second photo")
    snapshot = api.post("/api/v1/snapshots/", {"label": "before"}).json()
    assert api.delete(f"/api/v1/files/?{urlencode({'path': '/Album'})}").status_code == 204

    response = api.post("/api/v1/restores/", {"snapshot": snapshot["id"], "paths": ["/Album"]})
    assert response.status_code == 202

    deadline = time.monotonic() + 30
    job = response.json()
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = api.get(response["Location"]).json()
    assert job["state"] == "succeeded", job
    assert job["progress"]["percent"] == 100 and job["summary"]["restored"] == 3
    assert content(api, "/Album/one.jpg") == b"\xff\xd8 first photo"
    assert content(api, "/Album/two.jpg") == b"\xff\xd8 second photo"
