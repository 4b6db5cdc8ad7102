"""Search as you type in the file manager, in real headless Chromium: results
appear under the box after a pause in typing (one request for a burst of
keystrokes, not one each), with each hit's folder; the "Recently deleted" box
switches to deleted items; clearing the box clears the results; no CSP
violation on the way; screenshots at desktop and phone width."""

from __future__ import annotations

import io
import re

import pytest

from portal.tests.browser.test_files_browser import DESKTOP, PHONE, sign_in
from snapshots import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

LISTEN = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation([event.violatedDirective, event.blockedURI || "inline"].join(" | "));
}, true);
"""


def put_file(owner, path: str) -> None:
    services.file_write(
        tenant=owner.tenant, path=path, stream=io.BytesIO(b"content"), content_length=7, acting_user=owner.user
    )


def result_paths(page) -> list[str]:
    return page.locator("#search-results tr.search-row").evaluate_all("rows => rows.map(r => r.dataset.path)")


def test_search_as_you_type_in_the_file_manager(live_server, make_tenant, chromium, screenshot_dir) -> None:
    owner = make_tenant(hub="uk", name="Search Browser Ltd")
    other = make_tenant(hub="uk", name="Someone Else Ltd")
    put_file(owner, "/Finance/2026/Quarterly report.pdf")
    put_file(owner, "/Quarterly plan.txt")
    put_file(owner, "/Drafts/quarterly-old.txt")
    put_file(owner, "/unrelated.txt")
    put_file(other, "/Quarterly secret.txt")
    services.node_delete(tenant=owner.tenant, path="/Drafts/quarterly-old.txt", acting_user=owner.user)

    context = chromium.new_context(viewport=DESKTOP)
    violations: list[str] = []
    context.expose_binding("reportCspViolation", lambda source, text: violations.append(text))
    context.add_init_script(LISTEN)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    searches: list[str] = []
    page.on("request", lambda request: searches.append(request.url) if "/search/" in request.url else None)

    sign_in(page, live_server.url, owner.user.email, owner.user.raw_password)
    page.goto(f"{live_server.url}/files/")
    page.wait_for_function("() => window.htmx !== undefined")
    box = page.locator("#search-q")

    # A burst of keystrokes (40 ms apart, under the 300 ms pause) asks once, for the whole text.
    box.press_sequentially("quarterly", delay=40)
    page.wait_for_selector("#search-results tr.search-row")
    assert sorted(result_paths(page)) == ["/Finance/2026/Quarterly report.pdf", "/Quarterly plan.txt"]
    assert len(searches) == 1, searches
    assert "q=quarterly" in searches[0] and "fragment=results" in searches[0]
    first = page.locator('#search-results tr.search-row[data-path="/Finance/2026/Quarterly report.pdf"]')
    assert first.locator(".search-row__folder").inner_text() == "/Finance/2026"
    assert "secret" not in page.locator("#search-results").inner_text()
    context.pages[0].screenshot(path=str(screenshot_dir / "search-desktop.png"), full_page=True)

    # Narrowing the text narrows the results.
    box.press_sequentially(" rep", delay=40)
    page.wait_for_function("() => document.querySelectorAll('#search-results tr.search-row').length === 1")
    assert result_paths(page) == ["/Finance/2026/Quarterly report.pdf"]

    # Recently deleted: the deleted file, where it was.
    box.fill("quarterly")
    page.check("#search-deleted")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#search-results tr.search-row')].map(r => r.dataset.path).join() "
        "=== '/Drafts/quarterly-old.txt'"
    )
    page.uncheck("#search-deleted")
    page.wait_for_function("() => document.querySelectorAll('#search-results tr.search-row').length === 2")

    # A folder hit opens the folder.
    page.locator('#search-results a[href="/files/Finance/2026"]').first.click()
    page.wait_for_url(re.compile(r"/files/Finance/2026$"))
    assert page.locator('tr.file-row[data-path="/Finance/2026/Quarterly report.pdf"]').count() == 1

    # Nothing found, then an empty box: the results go away.
    page.locator("#search-q").press_sequentially("zzz-nothing", delay=20)
    page.wait_for_selector("#search-results >> text=Nothing matches")
    page.locator("#search-q").fill("")
    page.locator("#search-q").dispatch_event("input")
    page.wait_for_function("() => document.querySelector('#search-results').innerText.trim() === ''")

    page.set_viewport_size(PHONE)
    page.locator("#search-q").press_sequentially("quarterly", delay=20)
    page.wait_for_selector("#search-results tr.search-row")
    page.screenshot(path=str(screenshot_dir / "search-phone.png"), full_page=True)

    assert errors == [] and violations == []
    context.close()
