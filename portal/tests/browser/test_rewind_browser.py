"""A rewind in real headless Chromium, through a real Celery worker: a bad
sync renamed and added files; the customer opens the snapshot from before,
picks the folder, chooses "Exactly as it was", reads in the preview what
moves to Recently deleted, runs it, finds the folder as it was, then undoes
the whole rewind from the snapshot taken just before it."""

from __future__ import annotations

import io
import re

import pytest

from portal.tests.browser.test_snapshots_browser import DESKTOP, PHONE, no_sideways_scroll, sign_in, watch_for_errors
from snapshots import selectors, services
from snapshots.models import RestoreJob
from snapshots.services import snapshot_create

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(databases="__all__", transaction=True)]


def put(owner, path: str, content: bytes) -> None:
    services.file_write(
        tenant=owner.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=owner.user
    )


def rows_in(page) -> list[str]:
    return sorted(page.locator("tr.file-row").evaluate_all("rows => rows.map(row => row.dataset.path)"))


def wait_for_preview(page, text: str) -> None:
    page.wait_for_function(
        "(text) => document.querySelector('#restore-preview').innerText.includes(text)", arg=text, timeout=30_000
    )


def test_rewind_a_folder_from_the_preview_then_undo_it(
    live_server, make_tenant, chromium, celery_worker, screenshot_dir
) -> None:
    owner = make_tenant(hub="uk", name="Rewound Ltd")
    put(owner, "/Shared/plan.txt", b"the plan")
    put(owner, "/Shared/notes.txt", b"the notes")
    put(owner, "/elsewhere.txt", b"not in the folder")
    snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user)
    then = selectors.tree_as_of(tenant=owner.tenant, seq=snapshot.seq)
    services.node_rename(
        tenant=owner.tenant, path="/Shared/plan.txt", new_name="plan.txt.locked", acting_user=owner.user
    )
    for name in ("junk-1.tmp", "junk-2.tmp", "junk-3.tmp"):
        put(owner, f"/Shared/{name}", b"sync junk")
    put(owner, "/made-since.txt", b"outside the folder, stays")
    before = selectors.tree_as_of(tenant=owner.tenant)

    context = chromium.new_context(viewport=DESKTOP, device_scale_factor=1)
    page = context.new_page()
    errors = watch_for_errors(page)
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)

    # The snapshot from before the sync: tick the folder, restore it.
    page.goto(f"{live_server.url}/snapshots/browse?snapshot={snapshot.pk}")
    page.locator('tr.file-row[data-path="/Shared"] input[type=checkbox]').check()
    page.locator("[data-restore-selected]").click()
    page.wait_for_url(re.compile(r"/snapshots/restore\?"))
    assert page.locator("input[name=mode][value=merge]").is_checked()
    assert "Recently deleted" not in page.locator("#restore-preview").inner_text()

    # "Exactly as it was": the merge's options grey out, the preview lists the removals.
    page.check("input[name=mode][value=exact]")
    wait_for_preview(page, "will move to Recently deleted")
    assert page.locator("fieldset[data-merge-only]").evaluate_all("sets => sets.every(set => set.disabled)")
    totals = page.locator(".preview-totals__removed").inner_text().replace("\xa0", " ")
    assert totals.startswith("4 items made or renamed since (4 files, ")
    removals = page.locator("tr.preview-removal").all_inner_texts()
    assert sorted(text.split("\t")[-1].strip() for text in removals) == [
        "/Shared/junk-1.tmp",
        "/Shared/junk-2.tmp",
        "/Shared/junk-3.tmp",
        "/Shared/plan.txt.locked",
    ]
    assert "/made-since.txt" not in page.locator("#restore-preview").inner_text()
    page.screenshot(path=str(screenshot_dir / "rewind-dialog-desktop.png"), full_page=True)
    no_sideways_scroll(page, "rewind dialog, desktop")
    dialog_url = page.url
    phone = chromium.new_context(viewport=PHONE, device_scale_factor=1)
    small = phone.new_page()
    sign_in(small, live_server.url, owner.user.email, owner.user.raw_password)
    small.goto(dialog_url + "&mode=exact")
    assert small.locator("tr.preview-removal").count() == 4
    small.screenshot(path=str(screenshot_dir / "rewind-dialog-phone.png"), full_page=True)
    no_sideways_scroll(small, "rewind dialog, phone")
    phone.close()
    assert RestoreJob.objects.for_tenant(owner.tenant).count() == 0, "the preview started nothing"

    # Run it: the worker rewinds the folder.
    page.click("[data-confirm-restore]")
    page.wait_for_url(re.compile(r"/restores/\d+/$"))
    page.locator('#job-progress[data-state="succeeded"]').wait_for(timeout=60_000)
    assert page.locator(".job-count--removed strong").inner_text() == "4"
    page.screenshot(path=str(screenshot_dir / "rewind-job-desktop.png"), full_page=True)
    tree = selectors.tree_as_of(tenant=owner.tenant)
    assert {p: v for p, v in tree.items() if p.startswith("/Shared")} == {
        p: v for p, v in then.items() if p.startswith("/Shared")
    }
    page.goto(f"{live_server.url}/files/Shared")
    assert rows_in(page) == ["/Shared/notes.txt", "/Shared/plan.txt"]
    page.goto(f"{live_server.url}/files/")
    assert "/made-since.txt" in rows_in(page), "outside the folder nothing changed"
    page.goto(f"{live_server.url}/recently-deleted/")
    trash = page.locator("#main").inner_text()
    assert all(f"junk-{i}.tmp" in trash for i in (1, 2, 3))

    # Undo: from the job page to the snapshot taken just before, everything, exactly as it was.
    job = RestoreJob.objects.for_tenant(owner.tenant).get()
    page.goto(f"{live_server.url}/restores/{job.pk}/")
    page.get_by_role("link", name="Snapshot taken just before this restore").click()
    page.wait_for_url(re.compile(r"/snapshots/browse\?snapshot="))
    page.get_by_role("link", name="Restore everything…").click()
    page.wait_for_url(re.compile(r"/snapshots/restore\?"))
    page.check("input[name=mode][value=exact]")
    wait_for_preview(page, "will move to Recently deleted")
    assert "/Shared/plan.txt" in page.locator(".preview-removals").inner_text(), "its old name goes again"
    page.click("[data-confirm-restore]")
    page.wait_for_url(re.compile(r"/restores/\d+/$"))
    page.locator('#job-progress[data-state="succeeded"]').wait_for(timeout=60_000)
    assert selectors.tree_as_of(tenant=owner.tenant) == before
    page.goto(f"{live_server.url}/files/Shared")
    assert rows_in(page) == [
        "/Shared/junk-1.tmp",
        "/Shared/junk-2.tmp",
        "/Shared/junk-3.tmp",
        "/Shared/notes.txt",
        "/Shared/plan.txt.locked",
    ]
    assert not errors, errors
    context.close()
