"""/api/v1/restores/ with "mode": "exact" (a rewind): a folder or everything
becomes what it was, the preview lists what it removes with totals, the job
says how many it removed, and the pre-restore snapshot undoes it."""

from __future__ import annotations

import pytest

from conftest import all_databases
from portal.tests.api.conftest import problem
from snapshots import selectors, services
from snapshots.models import RestoreJob, Snapshot

pytestmark = all_databases


@pytest.fixture
def encrypted(api):
    """A snapshot of a good tree, then a bad sync: files encrypted under new names, new notes."""
    api.write("/Team/plan.txt", b"the plan")
    api.write("/Team/deep/spec.txt", b"the spec")
    api.write("/top.txt", b"top")
    snapshot = services.snapshot_create(tenant=api.tenant, acting_user=api.user)
    services.node_rename(tenant=api.tenant, path="/Team/plan.txt", new_name="plan.txt.locked", acting_user=api.user)
    api.write("/Team/plan.txt.locked", b"ENCRYPTED")
    api.write("/Team/READ_ME.txt", b"pay us")
    api.write("/Team/deep/extra.bin", b"12345")
    api.write("/ransom-note.txt", b"pay us too")
    return snapshot


def jobs(caller) -> int:
    return RestoreJob.objects.for_tenant(caller.tenant).count()


def test_a_dry_run_of_an_exact_folder_restore_lists_the_removals_with_totals(api, encrypted):
    tree, clock = api.tree(), api.clock()

    response = api.post(
        "/api/v1/restores/", {"snapshot": encrypted.pk, "paths": ["/Team"], "mode": "exact", "dry_run": True}
    )

    assert response.status_code == 200, response.content
    preview = response.json()
    assert preview["mode"] == "exact"
    assert preview["counts"]["removed"] == 3
    assert preview["removals"] == [
        {"path": "/Team/READ_ME.txt", "kind": "file"},
        {"path": "/Team/plan.txt.locked", "kind": "file"},
        {"path": "/Team/deep/extra.bin", "kind": "file"},
    ]
    assert {"action": "removed", "path": "/Team/READ_ME.txt"} in preview["items"]
    assert preview["totals"] == {
        "back": {"items": 1, "files": 1, "bytes": len(b"the plan")},
        "removed": {"items": 3, "files": 3, "bytes": len(b"ENCRYPTED") + len(b"pay us") + len(b"12345")},
    }
    assert (api.tree(), api.clock(), jobs(api)) == (tree, clock, 0), "a dry run changes nothing"


def test_an_exact_folder_restore_runs_then_the_pre_restore_snapshot_undoes_it(api, encrypted):
    then = selectors.tree_as_of(tenant=api.tenant, seq=encrypted.seq)
    before = api.tree()

    response = api.post("/api/v1/restores/", {"snapshot": encrypted.pk, "paths": ["/Team"], "mode": "exact"})
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["mode"], job["conflict"], job["target"]) == ("exact", "overwrite", "original")
    services.restore_run(tenant=api.tenant, job_id=job["id"])

    done = api.get(f"/api/v1/restores/{job['id']}").json()
    assert done["state"] == "succeeded"
    assert done["summary"]["removed"] == 3
    after = api.tree()
    assert {p: v for p, v in after.items() if p.startswith("/Team")} == {
        p: v for p, v in then.items() if p.startswith("/Team")
    }
    assert "/ransom-note.txt" in after, "outside the folder nothing changes"
    trash = api.get("/api/v1/trash/").json()["items"]
    assert {"/Team/READ_ME.txt", "/Team/deep/extra.bin"} <= {item["path"] for item in trash}

    pre_restore = Snapshot.objects.for_tenant(api.tenant).get(pk=done["pre_restore_snapshot"])
    undo = api.post("/api/v1/restores/", {"snapshot": pre_restore.pk, "mode": "exact"}).json()
    services.restore_run(tenant=api.tenant, job_id=undo["id"])
    assert api.get(f"/api/v1/restores/{undo['id']}").json()["state"] == "succeeded"
    assert api.tree() == before


def test_an_exact_restore_of_everything_removes_what_was_made_since_at_the_top(api, encrypted):
    then = selectors.tree_as_of(tenant=api.tenant, seq=encrypted.seq)

    preview = api.post("/api/v1/restores/", {"snapshot": encrypted.pk, "mode": "exact", "dry_run": True}).json()
    assert preview["removals"][0] == {"path": "/ransom-note.txt", "kind": "file"}
    assert preview["counts"]["removed"] == 4

    job = api.post("/api/v1/restores/", {"snapshot": encrypted.pk, "mode": "exact"}).json()
    assert job["paths"] == [] and job["mode"] == "exact"
    services.restore_run(tenant=api.tenant, job_id=job["id"])
    assert api.tree() == then
    assert api.get(f"/api/v1/restores/{job['id']}").json()["summary"]["removed"] == 4


def test_a_merge_is_still_the_default_and_says_so(api, encrypted):
    job = api.post("/api/v1/restores/", {"snapshot": encrypted.pk, "paths": ["/Team"]}).json()
    assert job["mode"] == "merge"
    services.restore_run(tenant=api.tenant, job_id=job["id"])
    assert "/Team/READ_ME.txt" in api.tree(), "a merge removes nothing"


def test_exact_requests_that_cannot_be_rewinds_are_clear_problems_and_start_nothing(api, encrypted):
    tree, clock = api.tree(), api.clock()
    for body, status, text in [
        ({"paths": ["/Team"], "mode": "exact", "target": "/Elsewhere"}, 400, "takes no target folder"),
        ({"paths": ["/top.txt"], "mode": "exact"}, 400, "/top.txt was a file at that time"),
        ({"paths": ["/Nowhere"], "mode": "exact"}, 404, "/Nowhere did not exist at that time"),
        ({"mode": "mirror"}, 400, "Unknown restore mode 'mirror'"),
        ({"mode": 1}, 400, "mode:"),
        ({"mode": ""}, 400, "mode: This field may not be blank"),
    ]:
        for dry_run in (False, True):
            answer = problem(
                api.post("/api/v1/restores/", {"snapshot": encrypted.pk, **body, "dry_run": dry_run}), status
            )
            assert text in answer["detail"], (body, answer)
            assert answer["type"].startswith("urn:hubport:problem:")
    assert (api.tree(), api.clock(), jobs(api)) == (tree, clock, 0)
