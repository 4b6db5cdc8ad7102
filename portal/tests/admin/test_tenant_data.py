"""A tenant's data-plane pages in the support admin: snapshots, restore jobs,
restores on the customer's behalf and purges, through Django's test client
with staff signed in by password and a real TOTP code."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from conftest import all_databases
from hubs.models import StaffAuditEntry, Tenant
from hubs.storage import facility_storage
from portal.tests.admin.test_accounts import login_verified
from snapshots import selectors, services
from snapshots.models import Change, RestoreJob, Snapshot, SupportView
from snapshots.scrub import scrub_pass
from snapshots.services import RestoreRequest

pytestmark = all_databases


# SECTION: helpers


def write(made: Any, path: str, content: bytes) -> Any:
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def base_url(tenant: Tenant) -> str:
    return f"/admin/hubs/tenant/{tenant.pk}/"


def page_messages(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def facility_bytes(hub: str) -> set[bytes]:
    found = set()
    for role in ("primary", "alternate"):
        root = Path(facility_storage(hub, role).location)
        if root.exists():
            found |= {p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return found


def control_plane_text() -> str:
    """Every field of every staff audit entry and admin log entry, as one string."""
    rows = [
        " ".join(str(value) for value in entry.values())
        for entry in list(StaffAuditEntry.objects.values()) + list(LogEntry.objects.values())
    ]
    return "\n".join(rows)


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.staff_user = login_verified(client)  # type: ignore[attr-defined]
    return client


def restore_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "source": "snapshot",
        "snapshot": "",
        "at": "",
        "paths": "",
        "target_kind": "original",
        "target_folder": "",
        "conflict": "rename",
    }
    data.update({key: str(value) for key, value in overrides.items()})
    return data


# SECTION: reading the tenant's hub


def test_snapshots_page_lists_the_tenants_snapshots_from_its_hub(staff_client, make_tenant):
    made = make_tenant(hub="au")
    neighbour = make_tenant(hub="au")
    elsewhere = make_tenant(hub="uk")
    write(made, "/a.txt", b"12345")
    mine = [
        services.snapshot_create(tenant=made.tenant, label="before the move"),
        services.snapshot_create(tenant=made.tenant, kind=Snapshot.Kind.SCHEDULED),
    ]
    services.snapshot_create(tenant=neighbour.tenant, label="neighbour's")
    services.snapshot_create(tenant=elsewhere.tenant, label="another hub's")

    response = staff_client.get(f"{base_url(made.tenant)}snapshots/")

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [snapshot.pk for snapshot, _ in rows] == [s.pk for s in reversed(mine)]
    assert {snapshot._state.db for snapshot, _ in rows} == {"hub_au"}
    assert all(snapshot.tenant_id == made.tenant.pk for snapshot, _ in rows)
    assert all(expires == snapshot.taken_at + timedelta(days=28) for snapshot, expires in rows)
    page = response.content.decode()
    assert "before the move" in page and "neighbour&#x27;s" not in page and "another hub" not in page
    assert f"{(mine[0].taken_at + timedelta(days=28)):%Y-%m-%d %H:%M}" in page
    assert "Take a snapshot now" in page
    assert "5 bytes" in page.replace("\xa0", " ")


def test_snapshot_sizes_in_the_admin_are_binary(staff_client, make_tenant):
    made = make_tenant(hub="uk")
    write(made, "/scan.tif", b"x" * 1_572_864)
    services.snapshot_create(tenant=made.tenant, label="scans")

    page = staff_client.get(f"{base_url(made.tenant)}snapshots/").content.decode().replace("\xa0", " ")
    # A unit after a number: the page's random CSRF token may hold the letters "MB".
    assert "1.5 MiB" in page and not re.search(r"\d (KB|MB|GB|TB)\b", page)
    taken = staff_client.post(f"{base_url(made.tenant)}snapshots/take/", follow=True)
    assert any("1 files, 1.5 MiB" in message for message in page_messages(taken))
    form = staff_client.get(f"{base_url(made.tenant)}restores/new/").content.decode().replace("\xa0", " ")
    assert "1 files, 1.5 MiB" in form


def test_restore_jobs_list_and_detail_come_from_the_hub(staff_client, make_tenant):
    made = make_tenant(hub="au")
    lost = write(made, "/lost.txt", b"lost")
    write(made, "/fine.txt", b"fine")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/lost.txt", acting_user=made.user)
    services.node_delete(tenant=made.tenant, path="/fine.txt", acting_user=made.user)
    for role in ("primary", "alternate"):
        Path(facility_storage("au", role).path(lost.blob.storage_key)).unlink()
    assert scrub_pass(hub_code="au", tenant_id=made.tenant.pk).lost == 1  # restores trust what the scrub found
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    services.restore_run(tenant=made.tenant, job_id=job.pk)
    queued = services.restore_start(
        tenant=made.tenant,
        acting_user=made.user,
        request=RestoreRequest(snapshot_id=snapshot.pk, paths=["/fine.txt"], target="/Back"),
        at_once=False,  # left queued: a small restore would otherwise run in the request
    )

    listing = staff_client.get(f"{base_url(made.tenant)}restores/")

    assert listing.status_code == 200
    assert [j.pk for j in listing.context["jobs"]] == [queued.pk, job.pk]
    assert {j._state.db for j in listing.context["jobs"]} == {"hub_au"}
    page = listing.content.decode()
    assert "Succeeded" in page and "Queued" in page and made.user.email in page

    detail = staff_client.get(f"{base_url(made.tenant)}restores/{job.pk}/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "/lost.txt" in page and "its content is missing from both facilities" in page
    assert f"Snapshot {snapshot.pk}" in page
    assert "Everything" in page and "The original location" in page
    assert "Cancel this restore" not in page, "a finished job has no cancel button"

    queued_page = staff_client.get(f"{base_url(made.tenant)}restores/{queued.pk}/").content.decode()
    assert "/fine.txt" in queued_page and "/Back" in queued_page and "Cancel this restore" in queued_page


def test_another_tenants_job_or_an_unknown_tenant_is_not_found(staff_client, make_tenant):
    made = make_tenant(hub="au")
    neighbour = make_tenant(hub="au")
    elsewhere = make_tenant(hub="uk")
    for other in (neighbour, elsewhere):
        write(other, "/x.txt", b"x")
    their_jobs = [
        services.restore_start(
            tenant=other.tenant,
            acting_user=other.user,
            request=RestoreRequest(snapshot_id=services.snapshot_create(tenant=other.tenant).pk),
        )
        for other in (neighbour, elsewhere)
    ]

    for job in their_jobs:
        assert staff_client.get(f"{base_url(made.tenant)}restores/{job.pk}/").status_code == 404
        assert staff_client.post(f"{base_url(made.tenant)}restores/{job.pk}/cancel/").status_code == 404
        job.refresh_from_db()
        assert not job.cancel_requested
    assert staff_client.get("/admin/hubs/tenant/999999/snapshots/").status_code == 404
    assert staff_client.get("/admin/hubs/tenant/999999/restores/").status_code == 404


def test_change_form_and_list_link_to_the_data_pages(staff_client, make_tenant):
    tenant = make_tenant(hub="au").tenant
    change_page = staff_client.get(f"{base_url(tenant)}change/").content.decode()
    for suffix in ("snapshots/", "restores/", "restores/new/", "purge/"):
        assert f'href="{base_url(tenant)}{suffix}"' in change_page, suffix
    listing = staff_client.get("/admin/hubs/tenant/").content.decode()
    assert f'href="{base_url(tenant)}snapshots/"' in listing
    assert "take_snapshot_now" in listing
    for suffix in ("snapshots/", "restores/", "restores/new/", "purge/"):
        assert staff_client.get(f"{base_url(tenant)}{suffix}").status_code == 200, suffix


# SECTION: snapshots taken by support


def test_take_a_snapshot_action_and_button_are_audited_with_the_hub_record(staff_client, make_tenant):
    made = make_tenant(hub="au")
    other = make_tenant(hub="uk")
    write(made, "/a.txt", b"abc")

    response = staff_client.post(
        "/admin/hubs/tenant/",
        {"action": "take_snapshot_now", "_selected_action": [str(made.tenant.pk), str(other.tenant.pk)]},
    )

    assert response.status_code == 302
    [snapshot] = Snapshot.objects.for_tenant(made.tenant).filter(kind=Snapshot.Kind.MANUAL)
    assert (snapshot.file_count, snapshot.byte_count) == (1, 3)
    assert snapshot.created_by_label == "Hubport support"
    assert snapshot.created_by_user_id == staff_client.staff_user.pk
    assert Snapshot.objects.for_tenant(other.tenant).count() == 1
    entries = StaffAuditEntry.objects.filter(action="tenant.snapshot")
    assert {(e.tenant_id, e.hub_record_id) for e in entries} == {
        (made.tenant.pk, str(snapshot.pk)),
        (other.tenant.pk, str(Snapshot.objects.for_tenant(other.tenant).get().pk)),
    }
    assert all(e.actor == staff_client.staff_user and e.target_id == str(e.tenant_id) for e in entries)

    assert staff_client.get(f"{base_url(made.tenant)}snapshots/take/").status_code == 405
    response = staff_client.post(f"{base_url(made.tenant)}snapshots/take/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"{base_url(made.tenant)}snapshots/"
    newest = Snapshot.objects.for_tenant(made.tenant).order_by("-id").first()
    assert any(f"Snapshot {newest.pk} taken" in m for m in page_messages(response))
    assert StaffAuditEntry.objects.filter(action="tenant.snapshot", hub_record_id=str(newest.pk)).count() == 1


def test_snapshot_of_an_unprovisioned_tenant_is_a_message(staff_client, make_tenant):
    from conftest import unprovision

    tenant = make_tenant(hub="au").tenant
    unprovision(tenant)

    response = staff_client.post(f"{base_url(tenant)}snapshots/take/", follow=True)

    assert response.status_code == 200
    assert any("no space in its hub" in m for m in page_messages(response))
    response = staff_client.post(
        "/admin/hubs/tenant/", {"action": "take_snapshot_now", "_selected_action": [str(tenant.pk)]}, follow=True
    )
    assert any("not provisioned" in m for m in page_messages(response))
    assert not StaffAuditEntry.objects.filter(action="tenant.snapshot").exists()


# SECTION: restores on the customer's behalf


def test_support_restore_previews_then_starts_and_shows_as_support(staff_client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/Projects/plan.txt", b"plan")
    write(made, "/Projects/deep/spec.txt", b"spec")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)
    url = f"{base_url(made.tenant)}restores/new/"

    form_page = staff_client.get(url, {"snapshot": snapshot.pk})
    assert form_page.status_code == 200
    assert form_page.context["form"]["snapshot"].value() == snapshot.pk
    request = restore_form(snapshot=snapshot.pk, paths="/Projects\n")

    preview = staff_client.post(url, {**request, "_preview": "1"})

    assert preview.status_code == 200
    assert preview.context["preview"].total_items == 4
    assert preview.context["preview"].counts["restored"] == 4
    page = preview.content.decode()
    assert "/Projects/deep/spec.txt" in page and "Start the restore" in page
    assert "/Projects/plan.txt" not in selectors.tree_as_of(tenant=made.tenant), "a preview changes nothing"
    assert not RestoreJob.objects.for_tenant(made.tenant).exists()

    edit = staff_client.post(url, {**request, "_edit": "1"})
    assert edit.context["preview"] is None and edit.context["form"]["paths"].value() == "/Projects\n"

    started = staff_client.post(url, {**request, "_start": "1"})

    job = RestoreJob.objects.for_tenant(made.tenant).get()
    assert started.status_code == 302
    assert started["Location"] == f"{base_url(made.tenant)}restores/{job.pk}/"
    assert job.by_support and job.requested_by_label == "Hubport support"
    assert job.requested_by_user_id == staff_client.staff_user.pk
    assert (job.paths, job.target, job.conflict) == (["/Projects"], "", "rename")

    services.restore_run(tenant=made.tenant, job_id=job.pk)

    tree = selectors.tree_as_of(tenant=made.tenant)
    assert tree["/Projects/plan.txt"] == sha(b"plan")
    assert tree["/Projects/deep/spec.txt"] == sha(b"spec")
    restored = [c for c in selectors.activity(tenant=made.tenant).items if c.action == Change.Action.RESTORE]
    assert restored and all(c.actor_label == "Hubport support" and c.by_support for c in restored)
    [entry] = StaffAuditEntry.objects.filter(action="tenant.restore")
    assert entry.hub_record_id == str(job.pk)
    assert (entry.tenant, entry.actor, entry.reason) == (made.tenant, staff_client.staff_user, "")
    control = control_plane_text()
    assert "Projects" not in control and "plan.txt" not in control and "spec.txt" not in control

    job_page = staff_client.get(started["Location"]).content.decode()
    assert "Succeeded" in job_page and "on the customer&#x27;s behalf" in job_page
    assert "support@hubport.test" in job_page, "the job page names the staff member from the audit log"


def test_support_browses_a_snapshot_picks_rows_and_previews_their_restore(staff_client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/Projects/plan.txt", b"plan")
    write(made, "/Projects/deep/spec.txt", b"spec")
    write(made, "/Projects/keep.txt", b"keep")
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/Projects", acting_user=made.user)
    other = make_tenant(hub="au")
    write(other, "/Projects/theirs.txt", b"theirs")
    url = f"{base_url(made.tenant)}browse/"

    root = staff_client.get(url, {"snapshot": snapshot.pk})
    assert root.status_code == 200
    assert [path for _, path, _ in root.context["rows"]] == ["/Projects"]
    folder = staff_client.get(url, {"snapshot": snapshot.pk, "path": "/Projects"})
    rows = {path: link for _, path, link in folder.context["rows"]}
    assert set(rows) == {"/Projects/deep", "/Projects/keep.txt", "/Projects/plan.txt"}
    assert rows["/Projects/deep"] and not rows["/Projects/plan.txt"]  # folders open, files are picked
    assert "theirs.txt" not in folder.content.decode()

    # Every listing is recorded: the path in the tenant's hub, an id-only entry in the control plane.
    views = list(SupportView.objects.for_tenant(made.tenant).order_by("pk"))
    assert [(v.path, v.snapshot_id, v.seq) for v in views] == [("/", snapshot.pk, snapshot.seq)] + [
        ("/Projects", snapshot.pk, snapshot.seq)
    ]
    assert all(v.staff_user_id == staff_client.staff_user.pk for v in views)
    entries = StaffAuditEntry.objects.filter(action="tenant.browse").order_by("pk")
    assert [e.hub_record_id for e in entries] == [str(v.pk) for v in views]
    assert all(e.tenant == made.tenant and e.actor == staff_client.staff_user for e in entries)
    control = control_plane_text()
    assert "Projects" not in control and "plan.txt" not in control

    # The ticked rows go to the restore form's preview as its paths.
    preview = staff_client.post(
        f"{base_url(made.tenant)}restores/new/",
        {**restore_form(snapshot=snapshot.pk), "pick": ["/Projects/plan.txt", "/Projects/deep"]},
    )
    assert preview.status_code == 200
    assert preview.context["form"]["paths"].value() == "/Projects/plan.txt\n/Projects/deep"
    assert preview.context["preview"].counts["restored"] == 3  # plan.txt, deep/ and deep/spec.txt
    started = staff_client.post(
        f"{base_url(made.tenant)}restores/new/",
        {**restore_form(snapshot=snapshot.pk, paths="/Projects/plan.txt\n/Projects/deep"), "_start": "1"},
    )
    assert started.status_code == 302
    job = RestoreJob.objects.for_tenant(made.tenant).get()
    assert sorted(job.paths) == ["/Projects/deep", "/Projects/plan.txt"]


def test_support_rewinds_a_folder_exactly_as_it_was(staff_client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/P/kept.txt", b"kept")
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(made, "/P/new.txt", b"made since")
    url = f"{base_url(made.tenant)}restores/new/"
    request = restore_form(snapshot=snapshot.pk, paths="/P", mode="exact", conflict="overwrite")

    preview = staff_client.post(url, {**request, "_preview": "1"})
    assert preview.status_code == 200, page_messages(preview)
    assert preview.context["preview"].counts["removed"] == 1
    assert "Made since, to Recently deleted" in preview.content.decode()

    started = staff_client.post(url, {**request, "_start": "1"})
    assert started.status_code == 302
    job = RestoreJob.objects.for_tenant(made.tenant).get()
    assert job.mode == "exact"
    services.restore_run(tenant=made.tenant, job_id=job.pk)
    assert set(selectors.tree_as_of(tenant=made.tenant)) == {"/P", "/P/kept.txt"}
    assert "Exactly as it was" in staff_client.get(started["Location"]).content.decode()


def test_support_browses_a_moment_and_bad_requests_record_nothing(staff_client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/a.txt", b"a")
    moment = timezone.now()
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=made.user)
    url = f"{base_url(made.tenant)}browse/"

    at_moment = staff_client.get(url, {"at": moment.isoformat()})
    assert [path for _, path, _ in at_moment.context["rows"]] == ["/a.txt"]
    assert 'name="source" value="moment"' in at_moment.content.decode()

    assert "/a.txt" not in [p for _, p, _ in staff_client.get(url, {"at": timezone.now().isoformat()}).context["rows"]]
    recorded = SupportView.objects.for_tenant(made.tenant).count()
    for params in ({}, {"snapshot": "x"}, {"snapshot": 1, "at": moment.isoformat()}):
        response = staff_client.get(url, params)
        assert response.status_code == 302, params
    for params in ({"snapshot": 999999}, {"at": moment.isoformat(), "path": "/missing"}):
        response = staff_client.get(url, params)
        assert response.status_code == 200
        assert response.context["refusal"], params
    assert SupportView.objects.for_tenant(made.tenant).count() == recorded


def test_browsing_needs_the_change_permission(client, make_tenant):
    made = make_tenant(hub="au")
    snapshot = services.snapshot_create(tenant=made.tenant)
    viewer = login_verified(client, email="viewer@hubport.test", superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    response = client.get(f"{base_url(made.tenant)}browse/", {"snapshot": snapshot.pk})
    assert response.status_code == 403
    assert not SupportView.objects.for_tenant(made.tenant).exists()


def test_support_restore_from_a_moment_into_a_folder(staff_client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/report.txt", b"version one")
    moment = timezone.now()
    write(made, "/report.txt", b"version two")
    url = f"{base_url(made.tenant)}restores/new/"
    request = restore_form(
        source="moment",
        at=moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
        paths="/report.txt",
        target_kind="folder",
        target_folder="/Recovered",
        conflict="skip",
    )

    assert staff_client.post(url, {**request, "_preview": "1"}).context["preview"].counts["restored"] == 1
    response = staff_client.post(url, {**request, "_start": "1"})

    assert response.status_code == 302
    job = RestoreJob.objects.for_tenant(made.tenant).get()
    assert job.snapshot is None and job.target == "/Recovered" and job.conflict == "skip"
    services.restore_run(tenant=made.tenant, job_id=job.pk)
    tree = selectors.tree_as_of(tenant=made.tenant)
    assert tree["/Recovered/report.txt"] == sha(b"version one")
    assert tree["/report.txt"] == sha(b"version two")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"paths": "/never-existed.txt"}, "did not exist at that time"),
        ({"paths": "relative/path"}, "start with '/'"),
        ({"paths": "/Docs", "target_kind": "folder", "target_folder": "/Docs/inside"}, "inside what is being restored"),
        ({"target_kind": "folder", "target_folder": ""}, "Give the folder"),
        ({"source": "moment", "at": "days-ago"}, "Enter a valid date/time"),
        ({"source": "moment", "at": ""}, "Choose a snapshot or a moment"),
        ({"source": "moment", "at": "(30 days ago)"}, "more than 28 days ago"),
        ({"source": "moment", "at": "(tomorrow)"}, "in the future"),
        ({"snapshot": ""}, "Choose a snapshot or a moment"),
        ({"snapshot": "(another tenant's)"}, "There is no snapshot"),
        ({"conflict": "explode"}, "Unknown conflict policy 'explode'"),
    ],
)
def test_bad_restore_requests_are_messages_not_errors(staff_client, make_tenant, overrides, expected):
    made = make_tenant(hub="au")
    other = make_tenant(hub="au")
    write(made, "/Docs/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    write(other, "/x.txt", b"x")
    moments = {
        "(30 days ago)": (timezone.now() - timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
        "(tomorrow)": (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        "(another tenant's)": services.snapshot_create(tenant=other.tenant).pk,
    }
    overrides = {key: moments.get(value, value) for key, value in overrides.items()}
    url = f"{base_url(made.tenant)}restores/new/"

    for button in ("_preview", "_start"):
        response = staff_client.post(url, {**restore_form(**{"snapshot": snapshot.pk, **overrides}), button: "1"})

        assert response.status_code == 200, button
        shown = " ".join(page_messages(response)) + response.content.decode().replace("&#x27;", "'")
        assert expected in shown, button
        assert response.context["preview"] is None
    # Shown once, on the page it belongs to: a refusal naming a path is never stored for a later page.
    assert page_messages(staff_client.get(url)) == []
    assert not RestoreJob.objects.for_tenant(made.tenant).exists()
    assert not StaffAuditEntry.objects.filter(action="tenant.restore").exists()


def test_cancel_a_queued_job_is_audited_and_a_finished_one_is_a_message(staff_client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/a.txt", b"a")
    snapshot = services.snapshot_create(tenant=made.tenant)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    cancel_url = f"{base_url(made.tenant)}restores/{job.pk}/cancel/"

    assert staff_client.get(cancel_url).status_code == 405
    response = staff_client.post(cancel_url, follow=True)

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.state == RestoreJob.State.CANCELLED
    assert any(f"Restore job {job.pk} cancelled" in m for m in page_messages(response))
    [entry] = StaffAuditEntry.objects.filter(action="tenant.restore_cancel")
    assert (entry.tenant, entry.hub_record_id) == (made.tenant, str(job.pk))

    again = staff_client.post(cancel_url, follow=True)
    assert again.status_code == 200
    assert any("already ended" in m for m in page_messages(again))
    assert StaffAuditEntry.objects.filter(action="tenant.restore_cancel").count() == 1


# SECTION: purge from all history


def test_purge_removes_the_bytes_and_keeps_file_names_out_of_the_control_plane(staff_client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/keep.txt", b"kept bytes")
    write(made, "/Secret/passwords.txt", b"hunter2")
    write(made, "/Secret/passwords.txt", b"hunter3")
    reason = "Erasure request from the customer's data protection officer, ticket 4411"
    url = f"{base_url(made.tenant)}purge/"

    response = staff_client.post(url, {"path": "/Secret/passwords.txt", "reason": reason, "confirm": "on"})

    assert response.status_code == 200
    result = response.context["result"]
    assert (result.versions, result.blobs, result.blob_bytes) == (2, 2, len(b"hunter2") + len(b"hunter3"))
    page = response.content.decode()
    assert "Versions removed" in page and "14 bytes from each facility" in page
    assert facility_bytes("au") == {b"kept bytes"}
    assert "/Secret/passwords.txt" not in selectors.tree_as_of(tenant=made.tenant)
    purge = Change.objects.for_tenant(made.tenant).get(pk=result.change_id)
    assert (purge.action, purge.path, purge.detail, purge.by_support) == (
        Change.Action.PURGE,
        "/Secret/passwords.txt",
        reason,
        True,
    )
    [entry] = StaffAuditEntry.objects.filter(action="tenant.purge")
    assert (entry.hub_record_id, entry.reason) == (str(result.change_id), ""), "the reason stays in the hub"
    assert (entry.tenant, entry.actor) == (made.tenant, staff_client.staff_user)
    control = control_plane_text()
    assert "passwords" not in control and "Secret" not in control
    assert reason not in control


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"path": "/Secret/passwords.txt", "reason": "", "confirm": "on"}, "This field is required"),
        ({"path": "/Secret/passwords.txt", "reason": "   ", "confirm": "on"}, "This field is required"),
        ({"path": "/Secret/passwords.txt", "reason": "erasure request"}, "cannot be undone"),
        ({"path": "Secret", "reason": "erasure request", "confirm": "on"}, "start with '/'"),
        ({"path": "/", "reason": "erasure request", "confirm": "on"}, "root folder cannot be purged"),
        ({"path": "/nothing/here.txt", "reason": "erasure request", "confirm": "on"}, "does not exist"),
    ],
)
def test_bad_purge_requests_are_messages_and_purge_nothing(staff_client, make_tenant, form, expected):
    made = make_tenant(hub="au")
    write(made, "/Secret/passwords.txt", b"hunter2")

    response = staff_client.post(f"{base_url(made.tenant)}purge/", form)

    assert response.status_code == 200
    shown = " ".join(page_messages(response)) + response.content.decode().replace("&#x27;", "'")
    assert expected in shown
    assert "result" not in response.context
    assert selectors.tree_as_of(tenant=made.tenant)["/Secret/passwords.txt"] == sha(b"hunter2")
    assert facility_bytes("au") == {b"hunter2"}
    assert not StaffAuditEntry.objects.filter(action="tenant.purge").exists()


# SECTION: permissions


def test_purge_needs_a_superuser_and_restores_need_the_change_permission(client, make_tenant):
    made = make_tenant(hub="au")
    write(made, "/a.txt", b"a")
    viewer = login_verified(client, email="viewer@hubport.test", superuser=False)
    tenant_url = base_url(made.tenant)

    assert client.get(f"{tenant_url}snapshots/").status_code == 403, "no tenant permission at all"

    viewer.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    assert client.get(f"{tenant_url}snapshots/").status_code == 200
    assert client.get(f"{tenant_url}restores/").status_code == 200
    assert "Take a snapshot now" not in client.get(f"{tenant_url}snapshots/").content.decode()
    assert client.post(f"{tenant_url}snapshots/take/").status_code == 403
    assert client.get(f"{tenant_url}restores/new/").status_code == 403
    assert client.get(f"{tenant_url}purge/").status_code == 403

    viewer.user_permissions.add(Permission.objects.get(codename="change_tenant"))
    assert client.get(f"{tenant_url}restores/new/").status_code == 200
    assert client.post(f"{tenant_url}snapshots/take/").status_code == 302
    assert client.get(f"{tenant_url}purge/").status_code == 403
    response = client.post(f"{tenant_url}purge/", {"path": "/a.txt", "reason": "erasure", "confirm": "on"})
    assert response.status_code == 403
    assert "/a.txt" in selectors.tree_as_of(tenant=made.tenant)
    change_page = client.get(f"{tenant_url}change/").content.decode()
    assert f'href="{tenant_url}restores/new/"' in change_page
    assert f'href="{tenant_url}purge/"' not in change_page


def test_staff_without_a_verified_device_do_not_reach_the_pages(client, make_tenant):
    from portal.models import User

    tenant = make_tenant(hub="au").tenant
    user = User.objects.create_user(
        username="nodevice@hubport.test", email="nodevice@hubport.test", password="x-long-pass", is_superuser=True
    )
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    for suffix in ("snapshots/", "restores/", "restores/new/", "purge/"):
        response = client.get(f"{base_url(tenant)}{suffix}")
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), suffix
