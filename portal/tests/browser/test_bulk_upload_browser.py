"""Several files at once in the file manager go as one tar stream to the bulk
endpoint (static/js/tar.js), in real headless Chromium: chosen in the picker
or dropped, each shows its own progress and outcome, and all are listed."""

from __future__ import annotations

import pytest

from portal.tests.browser.test_files_browser import DESKTOP, file_row, sign_in
from snapshots import selectors, services
from snapshots.blobs import blob_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

PICKED = {
    "a.txt": b"first file",
    "Überweisung März – ein sehr langer Name, länger als hundert Bytes in UTF-8, für den pax-Kopf.pdf": bytes(
        range(256)
    )
    * 40,
    "empty.bin": b"",
    "taken": b"refused: a folder has this name",
}


def content(tenant, path: str) -> bytes:
    version = selectors.node_at_path(tenant=tenant, path=path)
    with blob_open(tenant=tenant, blob=version.blob) as handle:
        return handle.read()


def test_several_files_picked_or_dropped_go_in_one_bulk_request(live_server, make_tenant, chromium) -> None:
    owner = make_tenant(hub="uk", name="Bulk Browser Ltd")
    services.folder_create(tenant=owner.tenant, path="/Docs/taken", acting_user=owner.user)
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    uploads: list[str] = []
    page.on(
        "request",
        lambda request: (
            uploads.append(f"{request.method} {request.url.split('?')[0]}")
            if request.method in ("PUT", "POST") and ("upload" in request.url or "/bulk" in request.url)
            else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/?path=/Docs")

    page.set_input_files(
        "#upload-input",
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data} for name, data in PICKED.items()],
    )
    for name in PICKED:
        if name != "taken":
            page.locator(f'.upload-item[data-name="{name}"][data-state="done"]').wait_for(timeout=15_000)
    refused = page.locator('.upload-item[data-name="taken"][data-state="error"]')
    refused.wait_for(timeout=15_000)
    assert "is a folder" in refused.inner_text()
    for name in PICKED:
        if name != "taken":
            file_row(page, f"/Docs/{name}").wait_for(timeout=10_000)
            assert content(owner.tenant, f"/Docs/{name}") == PICKED[name]
    assert page.locator('.upload-item[data-state="done"] progress').evaluate_all(
        "bars => bars.map(bar => bar.value)"
    ) == [100, 100, 100]

    # Dropped: three files, one request again.
    dropped = page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            for (const name of ["d1.txt", "d2.txt", "d3.txt"]) {
                transfer.items.add(new File(["dropped " + name], name, {type: "text/plain"}));
            }
            return transfer;
        }"""
    )
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": dropped})
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    for name in ("d1.txt", "d2.txt", "d3.txt"):
        page.locator(f'.upload-item[data-name="{name}"][data-state="done"]').wait_for(timeout=15_000)
        file_row(page, f"/Docs/{name}").wait_for(timeout=10_000)
        assert content(owner.tenant, f"/Docs/{name}") == f"dropped {name}".encode()

    assert [entry for entry in uploads if "/bulk" in entry] == ["POST " + live_server.url + "/api/v1/files/bulk"] * 2
    assert not [entry for entry in uploads if entry.startswith("PUT")], uploads
    assert not errors, errors
    context.close()
