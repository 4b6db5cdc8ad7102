"""The portal behaves as announced while a window runs, by impact, only for
tenants of the hubs in the window; the banner tells them beforehand; scheduled
snapshot and expiry jobs of a hub that is down wait until it is back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from celery.exceptions import Retry
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from hubs.models import Hub, MaintenanceWindow
from hubs.services.maintenance import maintenance_cancel, maintenance_schedule
from portal.tokens import api_token_create
from snapshots.services import RestoreRequest
from snapshots.tasks import (
    MAINTENANCE_RECHECK_SECONDS,
    expiry_task,
    resume_stalled_restores_task,
    take_scheduled_snapshots_task,
)

pytestmark = all_databases

NOW = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
START = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
END = datetime(2026, 12, 12, 13, 0, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class Customer:
    """A tenant's owner, signed in in the browser and holding an API token."""

    def __init__(self, signup) -> None:  # type: ignore[no-untyped-def]
        self.user, self.tenant = signup.user, signup.tenant
        self.browser = Client()
        self.browser.force_login(self.user)
        _, raw = api_token_create(user=self.user, tenant=self.tenant, name="tests")
        self.api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def uk(make_tenant, frozen) -> Customer:
    return Customer(make_tenant(hub="uk"))


@pytest.fixture
def de(make_tenant, frozen) -> Customer:
    return Customer(make_tenant(hub="de"))


def window(impact: str, codes: tuple[str, ...] = ("uk",)) -> MaintenanceWindow:
    return maintenance_schedule(
        hubs=list(Hub.objects.filter(code__in=codes)),
        title="Storage upgrade",
        description="New disks in both facilities.",
        impact=impact,
        starts_at=START,
        ends_at=END,
    )


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


# SECTION: unavailable


def test_unavailable_hub_answers_503_with_retry_after_in_the_browser_and_the_api(uk, de, frozen):
    window("unavailable")
    frozen.move_to(END - timedelta(hours=1, seconds=30))

    page = uk.browser.get("/")
    assert page.status_code == 503
    assert page["Retry-After"] == "3630"
    html = page.content.decode()
    assert "Down for maintenance" in html and "Storage upgrade" in html
    assert "the service is unavailable until Sat 12 Dec 2026 13:00 GMT. Try again after that." in html
    assert "Until Sat 12 Dec 2026 13:00 GMT." in html
    assert uk.browser.get("/files/").status_code == 503

    api = uk.api.get("/api/v1/me/")
    body = problem(api, 503)
    assert api["Retry-After"] == "3630"
    assert body["type"] == "urn:hubport:problem:maintenance"
    # A token's person is found only by the API's authentication, after this refusal: UTC, and it says so.
    assert "the service is unavailable until Sat 12 Dec 2026 13:00 UTC." in body["detail"]
    assert body["maintenance"]["ends_at"] == "2026-12-12T13:00:00+00:00"
    assert problem(uk.api.post("/api/v1/files/folders", {"path": "/a"}, content_type="application/json"), 503)

    # Another hub is untouched.
    assert de.browser.get("/").status_code == 200
    assert de.api.get("/api/v1/me/").status_code == 200


def test_during_maintenance_status_api_listing_sign_out_and_staff_admin_stay_reachable(uk, frozen):
    window("unavailable")
    frozen.move_to(START + timedelta(minutes=5))
    assert uk.browser.get("/status/").status_code == 200
    listing = uk.api.get("/api/v1/maintenance/")
    assert listing.status_code == 200
    assert [item["state"] for item in listing.json()["in_progress"]] == ["in_progress"]
    assert uk.browser.get("/admin/login/").status_code in (200, 302)
    assert uk.browser.post("/logout/").status_code == 302
    assert Client().get("/login/").status_code == 200, "anonymous pages are not a hub's"


def test_normal_service_before_and_after_the_window_and_when_cancelled(uk, frozen):
    planned = window("unavailable")
    frozen.move_to(START - timedelta(seconds=1))
    assert uk.browser.get("/").status_code == 200
    frozen.move_to(END)
    assert uk.browser.get("/").status_code == 200
    assert uk.api.get("/api/v1/me/").status_code == 200

    frozen.move_to(NOW)
    other = window("unavailable")
    frozen.move_to(START + timedelta(minutes=1))
    maintenance_cancel(window=planned)
    assert uk.browser.get("/").status_code == 503, "the other window still runs"
    maintenance_cancel(window=other)
    assert uk.browser.get("/").status_code == 200


def test_a_bad_token_during_maintenance_is_still_a_401(uk, frozen):
    window("unavailable")
    frozen.move_to(START)
    response = Client(HTTP_AUTHORIZATION="Bearer hp_00000000_nope").get("/api/v1/me/")
    assert problem(response, 401)


# SECTION: read-only and degraded


def test_read_only_hub_serves_reads_and_refuses_writes_with_a_clear_message(uk, de, frozen):
    window("read_only", codes=("uk", "de"))
    frozen.move_to(START + timedelta(hours=1))

    assert uk.browser.get("/").status_code == 200
    assert uk.browser.get("/files/").status_code == 200
    assert uk.api.get("/api/v1/me/").status_code == 200

    refused = uk.api.post("/api/v1/files/folders", {"path": "/reports"}, content_type="application/json")
    body = problem(refused, 503)
    assert refused["Retry-After"] == str(3 * 3600)
    assert body["type"] == "urn:hubport:problem:maintenance_read_only"
    assert "your files can be read but not changed until Sat 12 Dec 2026 13:00 UTC." in body["detail"]
    assert "Nothing was changed" in body["detail"]
    assert problem(uk.api.delete("/api/v1/files/?path=/reports"), 503)

    # In the browser the refusal is in the reader's zone, and in it alone: Frankfurt's by default.
    page = de.browser.post(reverse("files_folder_new"), {"folder": "/", "name": "reports"})
    assert page.status_code == 503
    detail = page.context["detail"]
    assert detail.endswith(
        "can be read but not changed until Sat 12 Dec 2026 14:00 CET. Nothing was changed; try again after that."
    )
    assert "UTC" not in detail

    page = uk.browser.post("/file-actions/new-folder", {"parent": "/", "name": "reports"})
    assert page.status_code == 503
    assert "Read-only during maintenance" in page.content.decode()
    assert problem(de.api.post("/api/v1/files/folders", {"path": "/x"}, content_type="application/json"), 503)


def test_degraded_hub_works_and_the_banner_says_so(uk, frozen):
    window("degraded")
    frozen.move_to(START + timedelta(hours=1))
    page = uk.browser.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Everything keeps working, possibly more slowly." in html
    created = uk.api.post("/api/v1/files/folders", {"path": "/reports"}, content_type="application/json")
    assert created.status_code == 201


# SECTION: the banner


def test_banner_from_announcement_until_the_end_for_the_affected_hub_only(uk, de, frozen):
    planned = window("unavailable")
    html = uk.browser.get("/").content.decode()
    assert f'data-maintenance-window="{planned.pk}-1"' in html
    assert "Planned maintenance" in html and "of hub uk (London): Storage upgrade" in html
    assert "Sat 12 Dec 2026 09:00 GMT to Sat 12 Dec 2026 13:00 GMT." in html
    assert "UTC" not in html.split('class="maintenance-banners"', 1)[1].split("</div>", 1)[0]
    assert 'data-starts-at="2026-12-12T09:00:00+00:00"' in html
    assert "js/maintenance.js" in html and "data-dismiss" in html
    assert "data-maintenance-window" not in de.browser.get("/").content.decode()

    frozen.move_to(END)
    assert "data-maintenance-window" not in uk.browser.get("/").content.decode()


def test_emergency_is_flagged_in_the_banner_and_the_maintenance_page(uk, frozen):
    maintenance_schedule(
        hubs=[Hub.objects.get(code="uk")],
        title="Gateway patch",
        starts_at=NOW + timedelta(hours=1),
        ends_at=NOW + timedelta(hours=2),
        emergency_reason="Security fix for the storage gateway",
    )
    html = uk.browser.get("/").content.decode()
    assert "Emergency maintenance" in html and "Security fix for the storage gateway" in html
    frozen.shift(timedelta(hours=1))
    page = uk.browser.get("/")
    assert page.status_code == 503 and "EMERGENCY" in page.content.decode()


# SECTION: scheduled jobs wait


def test_scheduled_snapshot_and_expiry_jobs_wait_while_their_hub_is_down(uk, frozen):
    window("unavailable")
    frozen.move_to(END - timedelta(minutes=4))
    for task in (take_scheduled_snapshots_task, expiry_task):
        with mock.patch.object(task, "retry", return_value=Retry("waiting")) as retry:
            with pytest.raises(Retry):
                task.run(hub_code="uk")
        retry.assert_called_once_with(countdown=240, max_retries=None)

    frozen.move_to(START)
    with mock.patch.object(take_scheduled_snapshots_task, "retry", return_value=Retry("waiting")) as retry:
        with pytest.raises(Retry):
            take_scheduled_snapshots_task.run(hub_code="uk")
    retry.assert_called_once_with(countdown=MAINTENANCE_RECHECK_SECONDS, max_retries=None)

    # Other hubs, and the hub once the window is over, run at once.
    assert isinstance(take_scheduled_snapshots_task.run(hub_code="de"), int)
    frozen.move_to(END)
    assert isinstance(take_scheduled_snapshots_task.run(hub_code="uk"), int)


def test_read_only_and_degraded_windows_do_not_hold_scheduled_jobs(uk, frozen):
    window("read_only")
    frozen.move_to(START + timedelta(minutes=1))
    assert isinstance(take_scheduled_snapshots_task.run(hub_code="uk"), int)


# SECTION: the banner in real Chromium (countdown, dismissal remembered per window and revision)


@pytest.mark.browser
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_banner_counts_down_and_stays_dismissed_until_the_window_changes(live_server, make_tenant, monkeypatch):
    from hubs.services.maintenance import maintenance_change
    from hubs.weekends import earliest_allowed_start, weekend_of
    from portal.tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from portal.tests.browser.test_files_browser import sign_in

    if not __import__("pathlib").Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop only drives the browser
    from playwright.sync_api import sync_playwright

    owner = make_tenant(hub="uk")
    hub = Hub.objects.get(code="uk")
    start = earliest_allowed_start(hubs=[hub], now=datetime.now(UTC) + timedelta(minutes=1))
    end = min(start + timedelta(hours=1), weekend_of(start, hub.zone)[1])
    planned = maintenance_schedule(hubs=[hub], title="Storage upgrade", starts_at=start, ends_at=end)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
            banner = page.locator(f'[data-maintenance-window="{planned.pk}-1"]')
            banner.wait_for()
            countdown = banner.locator("[data-countdown]").inner_text()
            assert countdown.startswith("Starts in 5 days") or countdown.startswith("Starts in 6 days"), countdown

            banner.locator("[data-dismiss]").click()
            assert banner.is_hidden()
            page.reload()
            assert page.locator(f'[data-maintenance-window="{planned.pk}-1"]').is_hidden()

            maintenance_change(window=planned, ends_at=end - timedelta(minutes=30))
            page.reload()
            assert page.locator(f'[data-maintenance-window="{planned.pk}-2"]').is_visible(), "a change shows it again"
            assert errors == []
        finally:
            browser.close()
    from django.db import connections

    connections.close_all()


def test_restore_jobs_wait_out_an_unavailable_window_and_are_not_requeued_meanwhile(uk, frozen, make_tenant):
    import io

    from snapshots import services
    from snapshots.tasks import restore_run_task

    made = make_tenant(hub="uk")
    services.file_write(tenant=made.tenant, path="/a", stream=io.BytesIO(b"a"), content_length=1, acting_user=None)
    snapshot = services.snapshot_create(tenant=made.tenant)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    window("unavailable")
    frozen.move_to(END - timedelta(minutes=4))
    with mock.patch.object(restore_run_task, "retry", return_value=Retry("waiting")) as retry:
        with pytest.raises(Retry):
            restore_run_task.run(tenant_id=made.tenant.pk, job_id=job.pk)
    retry.assert_called_once_with(countdown=240, max_retries=None)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("queued", 0)
    assert resume_stalled_restores_task(hub_code="uk") == []
    frozen.move_to(END)
    assert restore_run_task.run(tenant_id=made.tenant.pk, job_id=job.pk) == "succeeded"
