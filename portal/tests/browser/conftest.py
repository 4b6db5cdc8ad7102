"""Real headless Chromium (the operating system's package) driven by Playwright.

Playwright's sync API runs an asyncio event loop in the test thread, and Django
refuses database access from a thread with a running loop unless told it is
safe; here it is, since the loop only drives the browser.

Pages run under the site's Content-Security-Policy (no 'unsafe-eval'): give
``page.wait_for_function`` a function (``"() => ..."``), since Playwright
evaluates a bare expression with the page's own ``eval``, which the policy
refuses. ``page.evaluate`` and locators are not affected.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HUBPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(os.environ.get("HUBPORT_SCREENSHOT_DIR", "/tmp/hubport-shots"))


@pytest.fixture(autouse=True)
def allow_django_under_playwright_loop(monkeypatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def chromium(allow_django_under_playwright_loop) -> Iterator[object]:
    """One browser per test: the Playwright loop lives only as long as the test."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    # Queries made while Playwright's loop ran opened connections Django does not
    # close by itself; on PostgreSQL they keep the test database "being accessed
    # by other users" and its teardown fails.
    from django.db import connections

    connections.close_all()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
