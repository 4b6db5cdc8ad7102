"""Many at once in real headless Chromium: tick three files (one by a
shift-click range), download them as one zip and compare the unzipped bytes;
delete a selection after confirming; bring a selection back from Recently
deleted; "select all N in this folder" past the first page; and the pages at
desktop and phone width."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from portal.tests.browser.test_files_browser import DESKTOP, PHONE, file_row, sign_in
from portal.views.files import browse as browse_views
from snapshots import selectors, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

CONTENTS = {
    "a.bin": bytes(range(256)) * 64,
    "b – Überblick.txt": "Zürich, Genève".encode(),
    "c.csv": b"x,y\n1,2\n",
    "d.txt": b"not chosen",
}


def write_all(owner, folder: str = "") -> None:
    for name, content in CONTENTS.items():
        services.file_write(
            tenant=owner.tenant,
            path=f"{folder}/{name}",
            stream=io.BytesIO(content),
            content_length=len(content),
            acting_user=owner.user,
        )


def pick(page, path: str, **click):
    page.locator(f'tr.file-row[data-path="{path}"] input[name=pick]').click(**click)


def test_select_three_download_as_zip_delete_and_restore(live_server, make_tenant, chromium, tmp_path: Path) -> None:
    owner = make_tenant(hub="uk", name="Bulk Ltd")
    write_all(owner)
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/")
    assert page.locator("#bulk-form").is_hidden()

    # a.bin, then shift-click c.csv: a range of three.
    pick(page, "/a.bin")
    pick(page, "/c.csv", modifiers=["Shift"])
    assert page.locator("#bulk-form").is_visible()
    assert page.inner_text("[data-selection-count]") == "3 selected"
    assert page.locator("tr.file-row--selected").count() == 3

    with page.expect_download() as download_info:
        page.click('#bulk-form button[value="zip"]')
    download = download_info.value
    assert download.suggested_filename == "Files.zip"
    saved = tmp_path / "files.zip"
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["a.bin", "b – Überblick.txt", "c.csv"]
        for name in archive.namelist():
            assert archive.read(name) == CONTENTS[name]

    # Delete two, after confirming.
    page.click("[data-selection-clear]")
    pick(page, "/a.bin")
    pick(page, "/d.txt")
    page.click('#bulk-form button[value="delete"]')
    page.wait_for_url(re.compile(r"/file-actions/bulk"))
    assert page.inner_text("h1") == "Delete 2 items?"
    page.click("button.button--danger")
    page.wait_for_url(re.compile(r"/files/$"))
    assert "Deleted 2 items." in page.inner_text(".messages")
    assert file_row(page, "/a.bin").count() == 0 and file_row(page, "/d.txt").count() == 0
    clock_after_delete = selectors.clock_now(tenant=owner.tenant)

    # Both back from Recently deleted in one go.
    page.goto(f"{live_server.url}/recently-deleted/")
    page.check('[data-select-page="trash-bulk"]')
    assert page.inner_text("#trash-bulk [data-selection-count]") == "2 selected"
    page.click("#trash-bulk button[type=submit]")
    page.wait_for_url(re.compile(r"/recently-deleted/"))
    assert "Restored 2 items" in page.inner_text(".messages")
    assert selectors.clock_now(tenant=owner.tenant) == clock_after_delete + 1  # one step for both
    tree = selectors.tree_as_of(tenant=owner.tenant)
    assert {"/a.bin", "/d.txt"} <= set(tree)
    assert errors == []
    context.close()


def test_move_a_selection_and_select_all_past_the_first_page(
    live_server, make_tenant, chromium, monkeypatch, screenshot_dir
) -> None:
    monkeypatch.setattr(browse_views, "LISTING_PAGE_SIZE", 3)
    owner = make_tenant(hub="uk", name="Movers Ltd")
    write_all(owner, "/Inbox")
    services.folder_create(tenant=owner.tenant, path="/Archive/2026", acting_user=owner.user)
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
        page.goto(f"{live_server.url}/files/Inbox")
        page.check('[data-select-page="bulk-form"]')
        everything = page.locator("[data-select-everything]")
        assert everything.inner_text() == "Select all 4 items"
        page.screenshot(path=str(screenshot_dir / f"bulk-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label}: the files page scrolls sideways by {overflow}px"
        context.close()

    page = chromium.new_context(viewport=DESKTOP).new_page()
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/Inbox")
    page.check('[data-select-page="bulk-form"]')
    page.click("[data-select-everything]")
    assert page.inner_text("#bulk-form [data-selection-count]") == "All 4 items selected"
    page.click('#bulk-form button[value="move"]')
    page.wait_for_url(re.compile(r"/file-actions/bulk"))
    assert page.inner_text("h1") == "Move 4 items"
    page.click('.crumbs button:has-text("Files")')  # the picker opens at the items' folder
    page.click('.folder-picker button:has-text("Archive")')
    page.click('.folder-picker button:has-text("2026")')
    page.click("button:has-text('Move here')")
    page.wait_for_url(re.compile(r"/files/Archive/2026$"))
    assert "Moved 4 items to /Archive/2026." in page.inner_text(".messages")
    tree = selectors.tree_as_of(tenant=owner.tenant)
    assert {f"/Archive/2026/{name}" for name in CONTENTS} <= set(tree)
    assert not any(path.startswith("/Inbox/") for path in tree)
