"""Sign out everywhere else, in real headless Chromium: one person signed in
from two browser contexts (two separate cookie jars, as two devices), the
first lists both sessions and signs the other out, which finds itself at the
sign-in page on its next page load."""

from __future__ import annotations

import re

import pytest

from portal.tests.browser.test_files_browser import DESKTOP, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]


def test_sign_out_everywhere_else_in_chromium(live_server, make_tenant, chromium, screenshot_dir) -> None:
    owner = make_tenant(hub="uk", name="Sessions Test Ltd").user
    laptop = chromium.new_context(viewport=DESKTOP, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
    phone = chromium.new_context(viewport=DESKTOP)
    first, second = laptop.new_page(), phone.new_page()
    errors: list[str] = []
    for page in (first, second):
        page.on("pageerror", lambda error: errors.append(str(error)))

    sign_in(first, live_server.url, owner.email, owner.raw_password)
    sign_in(second, live_server.url, owner.email, owner.raw_password)
    second.goto(f"{live_server.url}/account/security/")
    assert second.locator("#active-sessions tr.session-row").count() == 2

    first.goto(f"{live_server.url}/")
    first.click("details.user-menu > summary")
    first.click("text=Sign-ins and sessions")
    first.wait_for_url(re.compile(r"/account/security/$"))
    rows = first.locator("#active-sessions tr.session-row")
    assert rows.count() == 2
    assert first.locator('#active-sessions tr[aria-current="true"]').count() == 1
    assert "Firefox 133" in first.locator('#active-sessions tr[aria-current="true"]').inner_text()
    first.screenshot(path=str(screenshot_dir / "sessions-two.png"), full_page=True)

    first.click("#sign-out-everywhere-else")
    first.wait_for_url(re.compile(r"/account/security/$"))
    assert "Signed out everywhere else (1 other session)" in first.content()
    assert first.locator("#active-sessions tr.session-row").count() == 1
    assert first.locator("#sign-out-everywhere-else").count() == 0

    # The other device's next page load: signed out, at the sign-in page.
    second.goto(f"{live_server.url}/account/security/")
    assert re.search(r"/login/\?next=", second.url), second.url
    assert second.locator("input[name=password]").count() == 1
    # The first is still signed in.
    first.reload()
    assert "/account/security/" in first.url
    assert errors == []
    laptop.close()
    phone.close()
