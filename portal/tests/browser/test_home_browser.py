"""The home page in real headless Chromium at desktop and phone width: every
card shown, nothing sticking out sideways, no script errors."""

from __future__ import annotations

import io

import pytest

from portal.tests.browser.test_files_browser import DESKTOP, PHONE, sign_in
from snapshots import services
from snapshots.services import RestoreRequest, restore_start, snapshot_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]


def test_home_page_at_desktop_and_phone_width(live_server, make_tenant, chromium, screenshot_dir) -> None:
    owner = make_tenant(hub="uk", name="Northwind Traders")
    for path in ("/Contracts/Supplier agreement – signed, with a long name to wrap.pdf", "/notes.txt"):
        services.file_write(
            tenant=owner.tenant, path=path, stream=io.BytesIO(b"x" * 4096), content_length=4096, acting_user=owner.user
        )
    snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user)
    job = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=snapshot.pk, paths=["/Contracts"]),
    )
    errors: list[str] = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        page.on("pageerror", lambda error, label=label: errors.append(f"{label}: {error}"))
        sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
        page.goto(f"{live_server.url}/")
        for card in ("home-storage", "home-snapshot", "home-hub", "home-restores", "home-activity"):
            assert page.locator(f"#{card}").is_visible(), card
        assert f"Restore {job.pk}" in page.inner_text("#home-restores")
        assert "8 KiB of 1 TiB used" in page.inner_text("#home-storage")
        page.screenshot(path=str(screenshot_dir / f"home-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label}: the home page scrolls sideways by {overflow}px"
        assert errors == []
        context.close()
