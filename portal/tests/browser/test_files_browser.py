"""The file manager in real headless Chromium: sign in, upload through the
page, delete with confirmation, bring it back from Recently deleted, download
it and compare the bytes; and screenshots at desktop and phone width."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from portal.views.files import browse as browse_views
from snapshots import selectors, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

FILE_NAME = "Quarterly report – Ü.bin"
# Not valid UTF-8 and not all one byte: a download that re-encoded or truncated it would not compare equal.
FILE_BYTES = bytes(range(256)) * 700 + b"\x00end"

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()


def file_row(page, path: str):
    return page.locator(f'tr.file-row[data-path="{path}"]')


def test_upload_delete_restore_and_download_in_chromium(live_server, make_tenant, chromium, tmp_path: Path) -> None:
    owner = make_tenant(hub="uk", name="Browser Test Ltd")
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Browsers ask for /favicon.ico by themselves; any other failed request is a fault of the page.
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )

    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.click("nav.main-nav >> text=Files")
    page.wait_for_url(re.compile(r"/files/$"))
    assert "This folder is empty" in page.content()

    # Upload through the picker: one progress bar per file, finished.
    page.set_input_files(
        "#upload-input",
        files=[{"name": FILE_NAME, "mimeType": "application/octet-stream", "buffer": FILE_BYTES}],
    )
    done = page.locator(f'.upload-item[data-name="{FILE_NAME}"][data-state="done"]')
    done.wait_for(timeout=15_000)
    assert done.locator("progress").evaluate("el => el.value") == 100
    assert done.locator(".upload-item__status").inner_text() == "Uploaded"
    row = file_row(page, f"/{FILE_NAME}")
    row.wait_for(timeout=10_000)
    assert "175.0 KiB" in row.inner_text()
    assert page.locator("#storage-summary").inner_text().startswith("175.0 KiB")

    # Delete, with the confirmation step.
    row.locator("summary.row-menu__toggle").click()
    row.locator("a.row-menu__danger").click()
    page.wait_for_url(re.compile(r"/file-actions/delete"))
    assert f"Delete “{FILE_NAME}”?" in page.inner_text("h1")
    page.click("button.button--danger")
    page.wait_for_url(re.compile(r"/files/$"))
    assert f"Deleted “{FILE_NAME}”" in page.inner_text(".messages")
    assert file_row(page, f"/{FILE_NAME}").count() == 0

    # Bring it back from Recently deleted with one click.
    page.click("nav.main-nav >> text=Recently deleted")
    page.wait_for_url(re.compile(r"/recently-deleted/$"))
    trash_row = page.locator("tr.trash-row", has_text=FILE_NAME)
    assert "Restorable until" in page.content()
    trash_row.get_by_role("button", name=f"Restore {FILE_NAME}").click()
    page.wait_for_load_state()
    assert f"Restored “{FILE_NAME}” to /." in page.inner_text(".messages")
    assert page.locator("tr.trash-row", has_text=FILE_NAME).count() == 0

    page.click("nav.main-nav >> text=Files")
    restored = file_row(page, f"/{FILE_NAME}")
    restored.wait_for()

    # Download it and compare the bytes.
    with page.expect_download() as download_info:
        restored.locator("a.file-link").click()
    download = download_info.value
    assert download.suggested_filename == FILE_NAME
    saved = tmp_path / "downloaded.bin"
    download.save_as(saved)
    assert saved.read_bytes() == FILE_BYTES

    page.click("nav.main-nav >> text=Activity")
    page.wait_for_url(re.compile(r"/activity/$"))
    activity = page.inner_text("table.activity-table")
    for action in ("Uploaded", "Deleted", "Restored"):
        assert action in activity

    assert not errors, errors
    context.close()


def test_upload_errors_show_per_file_drag_and_drop_and_new_folder(live_server, make_tenant, chromium) -> None:
    owner = make_tenant(hub="uk", name="Errors Ltd")
    services.folder_create(tenant=owner.tenant, path="/taken.txt", acting_user=owner.user)
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/")

    page.set_input_files(
        "#upload-input",
        files=[
            {"name": "taken.txt", "mimeType": "text/plain", "buffer": b"refused: a folder has that name"},
            {"name": "fine.txt", "mimeType": "text/plain", "buffer": b"accepted"},
        ],
    )
    refused = page.locator('.upload-item[data-name="taken.txt"][data-state="error"]')
    refused.wait_for(timeout=15_000)
    assert "is a folder; a file cannot replace it" in refused.inner_text()
    page.locator('.upload-item[data-name="fine.txt"][data-state="done"]').wait_for(timeout=15_000)
    file_row(page, "/fine.txt").wait_for(timeout=10_000)

    # Drag and drop: the same upload, started by a drop anywhere on the page.
    dropped = page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["dropped bytes"], "dropped.txt", {type: "text/plain"}));
            return transfer;
        }"""
    )
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": dropped})
    assert page.locator("#drop-overlay").is_visible()
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    assert page.locator("#drop-overlay").is_hidden()
    page.locator('.upload-item[data-name="dropped.txt"][data-state="done"]').wait_for(timeout=15_000)
    file_row(page, "/dropped.txt").wait_for(timeout=10_000)

    page.click("details.new-folder > summary")
    page.fill("#new-folder-name", "Projects")
    page.click(".new-folder__form button[type=submit]")
    page.wait_for_load_state()
    assert "Created the folder “Projects”." in page.inner_text(".messages")
    assert file_row(page, "/Projects").count() == 1
    assert selectors.node_at_path(tenant=owner.tenant, path="/fine.txt").size == len(b"accepted")
    assert selectors.node_at_path(tenant=owner.tenant, path="/dropped.txt").size == len(b"dropped bytes")
    context.close()


def test_load_more_appends_rows_in_place(live_server, make_tenant, chromium, monkeypatch) -> None:
    monkeypatch.setattr(browse_views, "LISTING_PAGE_SIZE", 2)
    owner = make_tenant(hub="uk", name="Many Files Ltd")
    services.folder_create(tenant=owner.tenant, path="/Folder", acting_user=owner.user)
    for n in range(4):
        services.file_write(
            tenant=owner.tenant, path=f"/f{n}.txt", stream=io.BytesIO(b"x"), content_length=1, acting_user=owner.user
        )
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/")
    assert page.locator("tr.file-row").count() == 2
    for expected in (4, 5):
        page.click("tr.load-more-row a")
        page.wait_for_function(f"() => document.querySelectorAll('tr.file-row').length === {expected}")
    assert page.url.endswith("/files/"), "Load more stays on the page"
    assert page.locator("tr.load-more-row").count() == 0
    names = page.locator("tr.file-row .file-link__name").all_inner_texts()
    assert names == ["Folder", "f0.txt", "f1.txt", "f2.txt", "f3.txt"]
    context.close()


def test_files_page_screenshots_at_desktop_and_phone_width(live_server, make_tenant, chromium, screenshot_dir) -> None:
    owner = make_tenant(hub="uk", name="Northwind Traders")
    for path, size in (
        ("/Contracts/2026/Supplier agreement – signed.pdf", 482_113),
        ("/Contracts/2025/old.pdf", 120_000),
        ("/Invoices/INV-0042.pdf", 88_210),
        ("/Team photo, summer offsite with a rather long file name.jpg", 3_145_728),
        ("/notes.txt", 1_240),
        ("/Budget 2026.xlsx", 54_012),
    ):
        services.file_write(
            tenant=owner.tenant, path=path, stream=io.BytesIO(b"x" * size), content_length=size, acting_user=owner.user
        )
    services.folder_create(tenant=owner.tenant, path="/Empty folder", acting_user=owner.user)
    services.node_delete(tenant=owner.tenant, path="/Contracts/2025/old.pdf", acting_user=owner.user)

    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
        page.goto(f"{live_server.url}/files/")
        # A name of its own each time: the same name again would be asked about (replace, keep both, skip).
        page.set_input_files(
            "#upload-input", files=[{"name": f"uploaded-{label}.txt", "mimeType": "text/plain", "buffer": b"hello"}]
        )
        page.locator('.upload-item[data-state="done"]').wait_for(timeout=15_000)
        file_row(page, f"/uploaded-{label}.txt").wait_for(timeout=10_000)
        page.screenshot(path=str(screenshot_dir / f"files-{label}.png"), full_page=True)
        # Nothing may stick out sideways on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow}px"
        row = file_row(page, "/notes.txt")
        row.locator("summary.row-menu__toggle").click()
        page.screenshot(path=str(screenshot_dir / f"files-{label}-menu.png"), full_page=True)
        page.goto(f"{live_server.url}/recently-deleted/")
        page.screenshot(path=str(screenshot_dir / f"trash-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label}: Recently deleted scrolls sideways by {overflow}px"
        page.goto(f"{live_server.url}/activity/")
        page.screenshot(path=str(screenshot_dir / f"activity-{label}.png"), full_page=True)
        page.goto(f"{live_server.url}/file-actions/move?path=/notes.txt&to=/Contracts")
        page.screenshot(path=str(screenshot_dir / f"move-{label}.png"), full_page=True)
        page.goto(f"{live_server.url}/file-actions/delete?path=/Contracts")
        page.screenshot(path=str(screenshot_dir / f"delete-{label}.png"), full_page=True)
        context.close()


def test_a_zone_chosen_in_the_profile_labels_the_times_of_the_files_page(
    live_server, make_tenant, chromium, screenshot_dir
) -> None:
    owner = make_tenant(hub="uk", name="Zone Test Ltd")
    services.file_write(
        tenant=owner.tenant,
        path="/scan.tif",
        stream=io.BytesIO(b"x" * 1_572_864),
        content_length=1_572_864,
        acting_user=owner.user,
    )
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
        page.goto(f"{live_server.url}/files/")
        # London's zone by default: GMT or BST, whichever is in force.
        assert re.search(r"\d\d:\d\d (GMT|BST)$", file_row(page, "/scan.tif").locator("time").inner_text())

        page.locator("details.user-menu summary").click()
        page.click("text=Profile and time zone")
        page.select_option("select[name=time_zone]", "Asia/Tokyo")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert "Times are now shown in Asia/Tokyo time." in page.content()

        page.goto(f"{live_server.url}/files/")
        row = file_row(page, "/scan.tif")
        assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d JST$", row.locator("time").inner_text())
        assert "1.5 MiB" in row.inner_text()
        page.screenshot(path=str(screenshot_dir / f"files-tokyo-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow}px"
        page.goto(f"{live_server.url}/settings/profile/")
        page.screenshot(path=str(screenshot_dir / f"profile-{label}.png"), full_page=True)
        context.close()
        owner.user.time_zone = ""
        owner.user.save(update_fields=["time_zone"])


def test_a_taken_name_is_asked_replace_keep_both_or_skip(live_server, make_tenant, chromium) -> None:
    owner = make_tenant(hub="uk", name="Same Name Ltd")
    for name in ("a.txt", "b.txt", "s.txt"):
        services.file_write(
            tenant=owner.tenant,
            path=f"/{name}",
            stream=io.BytesIO(b"old " + name.encode()),
            content_length=len(b"old " + name.encode()),
            acting_user=owner.user,
        )
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/")

    page.set_input_files(
        "#upload-input",
        files=[
            {"name": name, "mimeType": "text/plain", "buffer": b"new " + name.encode()}
            for name in ("a.txt", "b.txt", "s.txt", "c.txt")
        ],
    )
    # A free name uploads at once; the three taken ones wait for an answer, with a bar for all of them.
    page.locator('.upload-item[data-name="c.txt"][data-state="done"]').wait_for(timeout=15_000)
    for name in ("a.txt", "b.txt", "s.txt"):
        page.locator(f'.upload-item[data-name="{name}"][data-state="asking"]').wait_for(timeout=15_000)
    assert page.locator("#upload-conflicts").is_visible()
    assert "3 files with these names are already here." in page.inner_text("#upload-conflicts")

    page.click('.upload-item[data-name="a.txt"] [data-conflict-choice="keep_both"]')
    done = page.locator('.upload-item[data-name="a.txt"][data-state="done"]')
    done.wait_for(timeout=15_000)
    assert done.locator(".upload-item__status").inner_text() == "Uploaded as a (2).txt"
    page.click('.upload-item[data-name="b.txt"] [data-conflict-choice="replace"]')
    page.locator('.upload-item[data-name="b.txt"][data-state="done"]').wait_for(timeout=15_000)
    page.click('.upload-item[data-name="s.txt"] [data-conflict-choice="skip"]')
    page.locator('.upload-item[data-name="s.txt"][data-state="skipped"]').wait_for(timeout=5_000)
    assert page.locator("#upload-conflicts").is_hidden()
    file_row(page, "/a (2).txt").wait_for(timeout=10_000)

    def content(path: str) -> bytes:
        version = selectors.node_at_path(tenant=owner.tenant, path=path)
        return b"".join(services_open(owner.tenant, version))

    assert content("/a.txt") == b"old a.txt"
    assert content("/a (2).txt") == b"new a.txt"
    assert content("/b.txt") == b"new b.txt"
    assert content("/s.txt") == b"old s.txt"
    assert content("/c.txt") == b"new c.txt"
    b_node = selectors.node_at_path(tenant=owner.tenant, path="/b.txt").node_id
    assert len(selectors.file_versions(tenant=owner.tenant, node_id=b_node)) == 2  # the old content is a version

    # A name taken after the check (another person's upload, say): the upload's 409 is asked about too.
    page.route("**/file-actions/upload-conflicts", lambda route: route.fulfill(json={"taken": {}}))
    page.set_input_files("#upload-input", files=[{"name": "c.txt", "mimeType": "text/plain", "buffer": b"newer"}])
    asked = page.locator('.upload-item[data-name="c.txt"][data-state="asking"]')
    asked.wait_for(timeout=15_000)
    asked.locator('[data-conflict-choice="replace"]').click()
    page.locator('.upload-item[data-name="c.txt"][data-state="done"]').nth(1).wait_for(timeout=15_000)
    assert content("/c.txt") == b"newer"
    context.close()


def services_open(tenant, version):
    from snapshots.blobs import blob_open

    with blob_open(tenant=tenant, blob=version.blob) as handle:
        yield handle.read()
