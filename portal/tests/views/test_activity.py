"""The Activity page shows a restore item by item, each row linked to its job."""

from __future__ import annotations

import io

from django.test import Client
from django.urls import reverse

from conftest import all_databases
from snapshots import services
from snapshots.services import RestoreRequest

pytestmark = all_databases


def test_activity_shows_what_a_restore_changed_with_its_job(client: Client, make_tenant) -> None:
    made = make_tenant()
    for path, content in (("/Projects/a.txt", b"a"), ("/Projects/b.txt", b"b")):
        services.file_write(
            tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=None
        )
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/Projects/a.txt", acting_user=None)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    services.restore_run(tenant=made.tenant, job_id=job.pk)
    client.force_login(made.user)

    html = client.get(reverse("activity")).content.decode()

    job_url = reverse("restore_job", kwargs={"job_id": job.pk})
    rows = [row.split("</tr>")[0] for row in html.split('<tr class="activity-row">')[1:]]
    restored = [row for row in rows if f'href="{job_url}"' in row]
    assert len(restored) == 1, "one item came back: a.txt, and nothing is said of /Projects"
    assert "Restored" in restored[0] and "<code>/Projects/a.txt</code>" in restored[0]
