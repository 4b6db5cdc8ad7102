"""The restore dialog's "Exactly as it was" (a rewind), through Django's test
client: the choice, the preview that says what moves to Recently deleted with
totals, the start, the job page's count, and refusals as page messages."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from snapshots import selectors, services
from snapshots.models import RestoreJob
from snapshots.services import restore_run, snapshot_create

pytestmark = all_databases


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="uk", name="Rewind Ltd")


@pytest.fixture
def signed_in(client: Client, owner) -> Client:
    client.force_login(owner.user)
    return client


def put(owner, path: str, content: bytes) -> None:
    services.file_write(
        tenant=owner.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=owner.user
    )


@pytest.fixture
def synced_badly(owner):
    put(owner, "/Shared/plan.txt", b"the plan")
    put(owner, "/Shared/notes.txt", b"notes")
    snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user)
    for name in ("junk-1.tmp", "junk-2.tmp", "junk-3.tmp"):
        put(owner, f"/Shared/{name}", b"x" * 1024)
    put(owner, "/Shared/plan.txt", b"overwritten by the sync")
    return snapshot


def html_of(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def test_the_dialog_offers_exactly_as_it_was_and_its_preview_lists_the_removals(signed_in, owner, synced_badly):
    query = {"snapshot": synced_badly.pk, "paths": ["/Shared"]}
    merge = html_of(signed_in.get(reverse("snapshot_restore"), query))
    assert 'name="mode" value="merge" checked' in merge
    assert "Exactly as it was" in merge and "will move to Recently deleted" not in merge

    response = signed_in.get(reverse("snapshot_restore"), {**query, "mode": "exact"})
    assert response.status_code == 200
    html = html_of(response)
    assert 'value="exact" checked' in html
    assert html.count("data-merge-only disabled") == 2, "the merge's options are greyed out"
    assert "3 items made or renamed since</strong> (3 files, 3 KiB) will move to Recently deleted" in html
    for name in ("junk-1.tmp", "junk-2.tmp", "junk-3.tmp"):
        assert f"<code>/Shared/{name}</code>" in html
    assert html.count("To Recently deleted</span>") == 3, "each removal once, in its own list"
    assert "1 file</strong> (8 bytes) will come back" in html
    assert response.context["preview"].counts["removed"] == 3
    assert RestoreJob.objects.for_tenant(owner.tenant).count() == 0, "a preview starts nothing"

    fragment = signed_in.get(reverse("snapshot_restore"), {**query, "mode": "exact", "fragment": "preview"})
    assert b"will move to Recently deleted" in fragment.content and b"<main" not in fragment.content


def test_starting_a_rewind_from_the_dialog_and_reading_its_job_page(signed_in, owner, synced_badly):
    then = selectors.tree_as_of(tenant=owner.tenant, seq=synced_badly.seq)
    # A folder typed for a merge before choosing the rewind does not count: a rewind puts things where they were.
    response = signed_in.post(
        reverse("snapshot_restore"),
        {"snapshot": synced_badly.pk, "paths": ["/Shared"], "mode": "exact", "target": "folder", "folder": "/X"},
    )
    job = RestoreJob.objects.for_tenant(owner.tenant).get()
    assert response.status_code == 302 and response["Location"] == reverse("restore_job", kwargs={"job_id": job.pk})
    assert (job.mode, job.target, job.conflict) == ("exact", "", "overwrite")
    restore_run(tenant=owner.tenant, job_id=job.pk)
    assert selectors.tree_as_of(tenant=owner.tenant) == then
    page = html_of(signed_in.get(reverse("restore_job", kwargs={"job_id": job.pk})))
    assert "<strong>3</strong> <span>moved to recently deleted</span>" in page
    assert "Exactly as it was" in page


def test_a_rewind_of_a_file_is_refused_on_the_page_with_the_reason(signed_in, owner, synced_badly):
    response = signed_in.get(
        reverse("snapshot_restore"), {"snapshot": synced_badly.pk, "paths": ["/Shared/plan.txt"], "mode": "exact"}
    )
    assert response.status_code == 200
    assert "was a file at that time: an exact restore rewinds a folder or everything" in html_of(response)
    posted = signed_in.post(
        reverse("snapshot_restore"), {"snapshot": synced_badly.pk, "paths": ["/Shared/plan.txt"], "mode": "exact"}
    )
    assert posted.status_code == 200 and "was a file at that time" in html_of(posted)
    unknown = signed_in.get(reverse("snapshot_restore"), {"snapshot": synced_badly.pk, "paths": ["/"], "mode": "x"})
    assert unknown.status_code == 200 and "Unknown restore mode" in html_of(unknown)
    assert RestoreJob.objects.for_tenant(owner.tenant).count() == 0
