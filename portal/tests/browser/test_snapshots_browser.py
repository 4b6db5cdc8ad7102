"""Snapshots and restores in real headless Chromium: a customer deletes a
folder, opens yesterday's snapshot, ticks the folder, restores it through the
dialog (preview first, then confirm), watches the job page's progress bar
reach 100 % through a real Celery worker, and finds the files back in Files
with the same bytes; the versions panel; and screenshots of every page at
desktop and phone width, none of which may scroll sideways."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from snapshots import selectors, services
from snapshots.models import RestoreJob, Snapshot
from snapshots.services import RestoreRequest, restore_run, restore_runs, restore_start, snapshot_create

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(databases="__all__", transaction=True)]

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

# Not valid UTF-8 and not all one byte: a download that re-encoded or truncated one would not compare equal.
FILES = {
    "/Projects/Apollo/launch plan.txt": b"T-minus ten\n" * 300,
    "/Projects/Apollo/telemetry – ü.bin": bytes(range(256)) * 400 + b"\x00end",
    "/Projects/budget 2026.xlsx": b"PK\x03\x04" + bytes(reversed(range(256))) * 90,
}


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()


def watch_for_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    return errors


def no_sideways_scroll(page, label: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow}px"


def put(tenant, path: str, content: bytes, user) -> None:
    services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user
    )


def test_restore_a_deleted_folder_from_yesterdays_snapshot(
    live_server, make_tenant, chromium, celery_worker, settings, monkeypatch, tmp_path: Path, screenshot_dir
) -> None:
    owner = make_tenant(hub="uk", name="Apollo Ventures Ltd")
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        for path, content in FILES.items():
            put(owner.tenant, path, content, owner.user)
        yesterday = snapshot_create(tenant=owner.tenant, kind=Snapshot.Kind.SCHEDULED)
    put(owner.tenant, "/kept.txt", b"still here", owner.user)
    services.node_delete(tenant=owner.tenant, path="/Projects", acting_user=owner.user)

    # One item a batch, each a little slow, so the page shows the job before it ends
    # and the bar has to move by polling.
    settings.RESTORE_BATCH_ITEMS = 1
    save_progress = restore_runs._save_progress

    def slow_save_progress(*args, **kwargs):
        time.sleep(0.3)
        return save_progress(*args, **kwargs)

    monkeypatch.setattr(restore_runs, "_save_progress", slow_save_progress)

    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True, device_scale_factor=1)
    page = context.new_page()
    errors = watch_for_errors(page)
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)

    # Files no longer has the folder; Snapshots has yesterday's, under "Yesterday".
    page.goto(f"{live_server.url}/files/")
    assert page.locator('tr.file-row[data-path="/Projects"]').count() == 0
    page.click("nav.main-nav >> text=Snapshots")
    page.wait_for_url(re.compile(r"/snapshots/$"))
    day = page.locator("details.snapshot-day", has_text="Yesterday")
    assert day.get_attribute("open") is not None
    row = day.locator(f'tr.snapshot-row[data-snapshot-id="{yesterday.pk}"]')
    assert row.locator(".snapshot-row__kind").inner_text() == "Scheduled"
    assert row.locator(".snapshot-row__files").inner_text().startswith("3")
    row.get_by_role("link", name=re.compile("^Browse")).click()

    # Read only, under the "as of" banner; tick the folder and restore it.
    page.wait_for_url(re.compile(r"/snapshots/browse\?snapshot="))
    banner = page.locator(".asof-banner").inner_text()
    assert banner.startswith("As of ") and "London time" in banner and "read-only" in banner
    folder_row = page.locator('tr.file-row[data-path="/Projects"]')
    button = page.locator("[data-restore-selected]")
    assert button.is_disabled()
    folder_row.locator("input[type=checkbox]").check()
    assert button.inner_text() == "Restore 1 selected…"
    page.screenshot(path=str(screenshot_dir / "snapshot-browse-desktop.png"), full_page=True)
    button.click()

    # The dialog shows the dry run first.
    page.wait_for_url(re.compile(r"/snapshots/restore\?"))
    preview = page.locator("#restore-preview")
    assert "5 restored" in preview.locator(".preview-counts").inner_text().replace("\xa0", " ")
    assert "/Projects/Apollo/launch plan.txt" in preview.inner_text()
    assert page.locator("input[name=conflict][value=rename]").is_checked()
    assert "(restored " in page.locator(".option", has_text="Keep both").inner_text()
    assert "so you can undo it" in page.locator(".option", has_text="Overwrite").inner_text()
    # Changing an option refreshes the preview in place.
    page.check("input[name=target][value=folder]")
    page.fill("#restore-folder", "/Recovered")
    page.wait_for_function("() => document.querySelector('#restore-preview').innerText.includes('/Recovered/Projects')")
    page.check("input[name=target][value=original]")
    page.wait_for_function("() => !document.querySelector('#restore-preview').innerText.includes('/Recovered')")
    page.screenshot(path=str(screenshot_dir / "restore-dialog-desktop.png"), full_page=True)
    assert RestoreJob.objects.for_tenant(owner.tenant).count() == 0
    page.click("[data-confirm-restore]")

    # The job page: the bar moves by polling and stops at 100 %, Succeeded.
    page.wait_for_url(re.compile(r"/restores/\d+/$"))
    job = RestoreJob.objects.for_tenant(owner.tenant).get()
    assert page.url.endswith(f"/restores/{job.pk}/")
    assert page.locator("#job-progress").get_attribute("data-state") in ("queued", "running")
    assert page.locator("#job-progress").get_attribute("hx-trigger") == "every 1s"
    # No reload from here on: only the polled fragment can bring the end.
    page.locator('#job-progress[data-state="succeeded"]').wait_for(timeout=60_000)
    assert page.locator(".progress").get_attribute("aria-valuenow") == "100"
    assert page.locator("[data-percent]").inner_text() == "100%"
    assert page.locator(".job-progress__state").inner_text() == "Succeeded"
    assert page.locator("#job-progress").get_attribute("hx-trigger") is None, "polling stops when the job ends"
    assert page.locator(".job-count--restored strong").inner_text() == "5"
    assert page.get_by_role("button", name="Cancel restore").count() == 0
    page.screenshot(path=str(screenshot_dir / "restore-job-desktop.png"), full_page=True)

    # Back in Files, with the same bytes.
    page.click("nav.main-nav >> text=Files")
    page.locator('tr.file-row[data-path="/Projects"] a.file-link').click()
    page.wait_for_url(re.compile(r"/files/Projects$"))
    page.locator('tr.file-row[data-path="/Projects/Apollo"] a.file-link').click()
    page.wait_for_url(re.compile(r"/files/Projects/Apollo$"))
    for path, content in FILES.items():
        folder = path.rsplit("/", 1)[0]
        if not page.url.endswith(folder.replace(" ", "%20")):
            page.goto(f"{live_server.url}/files{folder}")
        with page.expect_download() as download_info:
            page.locator(f'tr.file-row[data-path="{path}"] a.file-link').click()
        download = download_info.value
        assert download.suggested_filename == path.rsplit("/", 1)[1]
        saved = tmp_path / "download.bin"
        download.save_as(saved)
        assert saved.read_bytes() == content, path
    assert selectors.node_at_path(tenant=owner.tenant, path="/kept.txt").size == len(b"still here")

    # The restore is listed, and the email its requester got links to the job page.
    page.click("nav.main-nav >> text=Restores")
    assert page.locator(f'tr.restore-row[data-job-id="{job.pk}"]').inner_text().count("Succeeded") == 1
    deadline = time.monotonic() + 15
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mail.outbox and f"/restores/{job.pk}/" in mail.outbox[0].body
    assert not errors, errors
    context.close()


def test_versions_panel_download_and_restore_in_chromium(live_server, make_tenant, chromium, tmp_path) -> None:
    owner = make_tenant(hub="uk", name="Drafts Ltd")
    start = timezone.now() - timedelta(days=2)
    for hours, content in ((0, b"first draft"), (1, b"second draft, longer"), (2, b"final")):
        with time_machine.travel(start + timedelta(hours=hours)):
            put(owner.tenant, "/essay.txt", content, owner.user)
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    errors = watch_for_errors(page)
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/")
    row = page.locator('tr.file-row[data-path="/essay.txt"]')
    row.locator("summary.row-menu__toggle").click()
    row.get_by_role("link", name="Versions").click()
    page.wait_for_url(re.compile(r"/versions/\?path="))
    versions = page.locator("li.version")
    assert versions.count() == 3
    assert "Current" in versions.nth(0).inner_text()
    oldest = versions.nth(2)
    with page.expect_download() as download_info:
        oldest.get_by_role("link", name=re.compile("^Download")).click()
    saved = tmp_path / "oldest.txt"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == b"first draft"

    oldest.locator("summary", has_text="Restore this version").click()
    oldest.get_by_role("button", name="Restore this version").click()
    page.wait_for_load_state()
    assert "is the current content of “essay.txt” now" in page.inner_text(".messages")
    assert page.locator("li.version").count() == 4
    assert selectors.node_at_path(tenant=owner.tenant, path="/essay.txt").size == len(b"first draft")
    assert not errors, errors
    context.close()


def test_history_pages_screenshots_at_desktop_and_phone_width(
    live_server, make_tenant, chromium, screenshot_dir, monkeypatch
) -> None:
    from snapshots.tasks import restore_run_task

    # The jobs here are run (or left queued) by the test itself, whatever worker is about.
    monkeypatch.setattr(restore_run_task, "delay", lambda **kwargs: None)
    owner = make_tenant(hub="uk", name="Northwind Traders")
    earlier = timezone.now() - timedelta(days=2)
    for hours in (0, 1, 2):
        with time_machine.travel(earlier + timedelta(hours=hours)):
            put(owner.tenant, "/Contracts/2026/Supplier agreement – signed.pdf", b"x" * (1000 + hours), owner.user)
            put(owner.tenant, f"/Invoices/INV-00{hours}.pdf", b"i" * 88_210, owner.user)
            snapshot_create(tenant=owner.tenant, kind=Snapshot.Kind.SCHEDULED)
    put(owner.tenant, "/Team photo, summer offsite with a rather long file name.jpg", b"p" * 300_000, owner.user)
    manual = snapshot_create(tenant=owner.tenant, acting_user=owner.user)
    services.node_delete(tenant=owner.tenant, path="/Invoices", acting_user=owner.user)
    done = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=manual.pk, paths=["/Invoices"], target="/Recovered invoices"),
    )
    restore_run(tenant=owner.tenant, job_id=done.pk)
    queued = restore_start(
        tenant=owner.tenant, acting_user=owner.user, request=RestoreRequest(snapshot_id=manual.pk, paths=["/Contracts"])
    )

    pages = {
        "snapshots": "/snapshots/",
        "snapshot-browse": f"/snapshots/browse?snapshot={manual.pk}&path=/Invoices",
        "restore-dialog": f"/snapshots/restore?snapshot={manual.pk}&paths=/Invoices&paths=/Contracts"
        "&conflict=overwrite",
        "restore-job-done": f"/restores/{done.pk}/",
        "restore-job-queued": f"/restores/{queued.pk}/",
        "restores": "/restores/",
        "versions": "/versions/?path=/Contracts/2026/Supplier%20agreement%20%E2%80%93%20signed.pdf",
        "storage": "/storage/",
    }
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        errors = watch_for_errors(page)
        sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
        for name, url in pages.items():
            page.goto(f"{live_server.url}{url}")
            if name == "snapshot-browse":
                page.locator("tr.file-row input[type=checkbox]").first.check()
            if name == "versions":
                page.locator("li.version").nth(1).locator("summary").click()
            page.screenshot(path=str(screenshot_dir / f"{name}-{label}.png"), full_page=True)
            no_sideways_scroll(page, f"{name} at {label}")
        assert not errors, errors
        context.close()
