"""Support's view of integrity in the admin, through the test client with
staff signed in by password and a real TOTP code: per hub, the tenants with
lost or repaired blobs (ids only); per tenant, the files and versions that use
them, read from the hub for the response, the view audited by blob ids, and
no name written to the control plane."""

from __future__ import annotations

import io
from pathlib import Path

from django.contrib.auth.models import Permission
from django.test import Client

from conftest import all_databases
from hubs.models import StaffAuditEntry
from hubs.storage import facility_storage
from portal.tests.admin.test_accounts import login_verified
from portal.tests.admin.test_tenant_data import control_plane_text
from snapshots import services
from snapshots.models import ScrubFinding
from snapshots.scrub import scrub_pass, scrub_slice

pytestmark = all_databases
OVERVIEW = "/admin/hubs/tenant/integrity/"


def write(made, path: str, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def copy_of(hub: str, role: str, blob) -> Path:
    return Path(facility_storage(hub, role).path(blob.storage_key))


def damaged_tenant(make_tenant):
    """A tenant in hk with one blob lost everywhere (two versions of two files
    use it) and one repaired, one healthy file."""
    made = make_tenant(hub="hk")
    lost = write(made, "/Legal/Contract-Alpha.pdf", b"alpha terms")
    write(made, "/Legal/Contract-Alpha.pdf", b"alpha terms v2")  # the lost bytes are now an older version
    write(made, "/Copies/Alpha-copy.pdf", b"alpha terms")  # same bytes: same blob
    repaired = write(made, "/Board/Minutes-Beta.txt", b"beta minutes")
    write(made, "/Healthy-Gamma.txt", b"gamma")
    for role in ("primary", "alternate"):
        copy_of("hk", role, lost.blob).unlink()
    copy_of("hk", "alternate", repaired.blob).write_bytes(b"rot")
    result = scrub_pass(hub_code="hk", tenant_id=made.tenant.pk)
    assert (result.lost, result.repaired) == (1, 1)
    return made, lost.blob, repaired.blob


def test_the_overview_lists_tenants_by_hub_with_counts_and_no_names(client: Client, make_tenant):
    login_verified(client)
    made, lost, repaired = damaged_tenant(make_tenant)
    response = client.get(OVERVIEW, {"hub": "hk"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-tenant="{made.tenant.pk}"' in page and made.tenant.name in page
    row = page[page.index(f'data-tenant="{made.tenant.pk}"') :].split("</tr>")[0]
    assert "<strong>1</strong>" in row, "one lost blob, open"
    assert "Contract-Alpha" not in page and "Minutes-Beta" not in page, "no file names on the overview"
    assert "Hub de" not in page, "one hub asked for"
    assert "Scheduled scrub: no pass yet." in page
    scrub_slice(hub_code="hk")
    page = client.get(OVERVIEW, {"hub": "hk"}).content.decode()
    assert "Scheduled scrub: pass started" in page and "finished" in page
    assert "Hub de" in client.get(OVERVIEW).content.decode()


def test_the_tenant_page_names_the_affected_files_and_versions_and_is_audited(client: Client, make_tenant):
    staff = login_verified(client)
    made, lost, repaired = damaged_tenant(make_tenant)
    response = client.get(f"/admin/hubs/tenant/{made.tenant.pk}/integrity/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-blob="{lost.pk}" data-kind="lost"' in page
    assert f'data-blob="{repaired.pk}" data-kind="corrupt"' in page
    versions = [row for row in page.split("<tr") if 'class="version-row"' in row]
    lost_rows = [row for row in versions if f'data-blob="{lost.pk}"' in row]
    assert len(lost_rows) == 2, "the older version of the contract and the current copy"
    assert any("/Legal/Contract-Alpha.pdf" in row and "(current)" not in row for row in lost_rows)
    assert any("/Copies/Alpha-copy.pdf" in row and "(current)" in row for row in lost_rows)
    assert any("/Board/Minutes-Beta.txt" in row for row in versions), "a recent repair is listed"
    assert "Healthy-Gamma" not in page
    [entry] = StaffAuditEntry.objects.filter(action="tenant.integrity_view")
    assert (entry.actor, entry.tenant_id) == (staff, made.tenant.pk)
    assert entry.after == {"blobs": sorted([lost.pk, repaired.pk])}
    text = control_plane_text()
    assert "Contract-Alpha" not in text and "Minutes-Beta" not in text and "Legal" not in text


def test_a_tenant_with_nothing_found_shows_so_and_writes_no_audit(client: Client, make_tenant):
    login_verified(client)
    made = make_tenant(hub="hk")
    write(made, "/fine.txt", b"fine")
    response = client.get(f"/admin/hubs/tenant/{made.tenant.pk}/integrity/")
    assert response.status_code == 200 and b"Nothing lost" in response.content
    assert not StaffAuditEntry.objects.filter(action="tenant.integrity_view").exists()
    assert client.get("/admin/hubs/tenant/999999/integrity/").status_code == 404


def test_the_list_links_to_the_page_and_staff_without_the_view_permission_are_refused(client: Client, make_tenant):
    made, _, _ = damaged_tenant(make_tenant)
    login_verified(client)
    listing = client.get("/admin/hubs/tenant/")
    assert f"/admin/hubs/tenant/{made.tenant.pk}/integrity/" in listing.content.decode()
    limited = Client()
    user = login_verified(limited, email="limited@hubport.test", superuser=False)
    user.user_permissions.add(Permission.objects.get(codename="view_hub"))
    assert limited.get(f"/admin/hubs/tenant/{made.tenant.pk}/integrity/").status_code == 403
    assert limited.get(OVERVIEW).status_code == 403
    assert ScrubFinding.objects.for_tenant(made.tenant).count() == 2
