"""Every time a person reads is in one zone and says which: their own (their
profile), else their workspace hub's. One middleware activates it for the
request, so pages, messages and refusals agree; staff pages stay in UTC."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import all_databases
from portal.services.accounts import user_time_zone_set
from portal.tokens import api_token_create
from snapshots import services
from snapshots.services import RestoreRequest, restore_start, snapshot_create

pytestmark = all_databases

# 19:42 in Tokyo (JST, UTC+9); 21:42 in Sydney (AEDT, UTC+11); 10:42 in London (GMT).
MOMENT = datetime(2026, 11, 24, 10, 42, tzinfo=UTC)
AN_HOUR_LATER = MOMENT + timedelta(hours=1)


def put_file(made, path: str, content: bytes) -> None:
    services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def page(client: Client, url: str) -> str:
    with time_machine.travel(AN_HOUR_LATER, tick=False):
        response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode().replace("\xa0", " ")


@pytest.fixture
def tokyo(make_tenant, client: Client):
    """A London-hub workspace whose owner reads times in Tokyo, with a file
    written, one deleted, a snapshot, a restore and a token, all at MOMENT."""
    made = make_tenant(hub="uk", name="Acme London Ltd")
    user_time_zone_set(user=made.user, time_zone="Asia/Tokyo")
    with time_machine.travel(MOMENT, tick=False):
        put_file(made, "/Reports/q1.pdf", b"first quarter")
        put_file(made, "/old.txt", b"old")
        services.node_delete(tenant=made.tenant, path="/old.txt", acting_user=made.user)
        snapshot = snapshot_create(tenant=made.tenant, acting_user=made.user)
        restore_start(
            tenant=made.tenant,
            acting_user=made.user,
            request=RestoreRequest(snapshot_id=snapshot.pk, paths=("/Reports",)),
        )
        api_token_create(user=made.user, tenant=made.tenant, name="backup script")
    client.force_login(made.user)
    return SimpleNamespace(tenant=made.tenant, user=made.user, client=client)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (reverse("files"), "24 Nov 2026, 19:42 JST"),
        (reverse("activity"), "24 Nov 2026, 19:42:00 JST"),
        (reverse("trash"), "24 Nov 2026, 19:42 JST"),
        (reverse("api_tokens"), "24 Nov 2026, 19:42 JST"),
        (reverse("snapshots"), "19:42 JST"),
        (f"{reverse('file_versions')}?path=/Reports/q1.pdf", "24 Nov 2026, 19:42 JST"),
        (reverse("restores"), "24 Nov 2026, 19:42 JST"),
    ],
)
def test_a_person_with_a_zone_of_their_own_reads_every_time_in_it_labelled(tokyo, url: str, shown: str) -> None:
    html = page(tokyo.client, url)
    assert shown in html
    # Neither the stored UTC time nor the hub's London time leaks through anywhere.
    assert "10:42" not in html and "11:42" not in html
    assert not re.search(r"\b(GMT|UTC|BST)\b", html.split('<main id="main"', 1)[1])


def test_recently_deleted_says_until_when_in_the_same_zone(tokyo) -> None:
    html = page(tokyo.client, reverse("trash"))
    assert "22 Dec 2026, 19:42 JST" in html


def test_the_history_pages_name_the_zone_once_too(tokyo) -> None:
    assert "times are Tokyo time (JST)" in page(tokyo.client, reverse("snapshots"))
    assert "Times are Tokyo time (JST)" in page(tokyo.client, reverse("restores"))


def test_without_a_choice_a_sydney_workspace_reads_sydney_time(make_tenant, client: Client) -> None:
    made = make_tenant(hub="au", name="Sydney Pty")
    with time_machine.travel(MOMENT, tick=False):
        put_file(made, "/notes.txt", b"hello")
    client.force_login(made.user)
    html = page(client, reverse("files"))
    assert "24 Nov 2026, 21:42 AEDT" in html
    assert 'datetime="2026-11-24T21:42:00+11:00"' in html


def test_messages_built_with_times_use_the_same_zone(tokyo) -> None:
    with time_machine.travel(AN_HOUR_LATER, tick=False):
        deleted = tokyo.client.post(reverse("files_delete"), {"path": "/Reports/q1.pdf", "folder": "/Reports"})
        assert texts(deleted)[-1].endswith("until 22 Dec 2026, 20:42 JST.")
        taken = tokyo.client.post(reverse("snapshot_take"))
        assert texts(taken)[-1].startswith("Snapshot taken at 20:42 JST:")


def test_a_restore_refusal_names_both_moments_in_one_zone(tokyo) -> None:
    with time_machine.travel(AN_HOUR_LATER, tick=False):
        response = tokyo.client.get(reverse("snapshot_browse"), {"at": "2026-10-01T09:00"})
    [refusal] = texts(response)
    assert refusal == (
        "1 Oct 2026, 09:00 JST is more than 28 days ago; the earliest moment you can restore from is "
        "27 Oct 2026, 20:42 JST."
    )


def test_the_zone_lasts_only_for_its_request(tokyo) -> None:
    page(tokyo.client, reverse("files"))
    assert timezone.get_current_timezone_name() == "UTC"


def test_the_admin_stays_in_utc_for_staff_with_a_zone_of_their_own(tokyo) -> None:
    from portal.tests.admin.test_accounts import login_verified

    staff_client = Client()
    staff = login_verified(staff_client)
    user_time_zone_set(user=staff, time_zone="Asia/Tokyo")
    html = page(staff_client, f"/admin/hubs/tenant/{tokyo.tenant.pk}/snapshots/")
    assert "2026-11-24 10:42" in html and "19:42" not in html
    with time_machine.travel(AN_HOUR_LATER, tick=False):
        taken = staff_client.post(f"/admin/hubs/tenant/{tokyo.tenant.pk}/snapshots/take/")
    assert texts(taken)[-1].endswith("It expires on 2026-12-22 11:42 UTC.")
