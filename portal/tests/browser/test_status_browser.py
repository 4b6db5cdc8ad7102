"""The public status page in real Chromium at a phone's width and a desktop's:
nothing wider than the screen, the 90-day bars drawn, a bar's title (what a
hover shows) naming the day's figure, and an incident's banner for its hub's
customers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from hubs.services.incidents import Observation, incidents_observe
from hubs.services.uptime import uptime_minute_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def _storage_failure(hub: str, minutes_ago: int) -> Observation:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return Observation(hub, "storage.primary.round_trip", "storage.primary", "critical", False, "", at)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_status_page_fits_the_screen_and_draws_its_bars(
    live_server, make_tenant, chromium, screenshot_dir: Path, viewport: dict[str, int]
) -> None:
    now = timezone.now()
    for minute in range(30):
        uptime_minute_record(hub_code="uk", at=now - timedelta(minutes=minute), critical_failing=minute < 3)
    for minutes_ago in (2, 1):
        incidents_observe(observations=[_storage_failure("uk", minutes_ago)])
    page = chromium.new_context(viewport=viewport).new_page()
    page.goto(f"{live_server.url}/status/")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a {viewport['width']} px screen"
    bars = page.locator("svg rect")
    assert bars.count() >= 7 * 90
    assert page.locator("svg").first.bounding_box()["width"] <= viewport["width"]
    titles = page.locator("svg rect title").all_text_contents()
    assert any("%" in title for title in titles)
    assert "storage" in page.content().lower()
    page.screenshot(path=str(screenshot_dir / f"status-{viewport['width']}.png"), full_page=True)


def test_a_customer_of_the_hub_sees_the_incident_banner(live_server, make_tenant, chromium) -> None:
    owner = make_tenant(hub="uk")
    for minutes_ago in (2, 1):
        incidents_observe(observations=[_storage_failure("uk", minutes_ago)])
    page = chromium.new_context(viewport=PHONE).new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=email]", owner.user.email)
    page.fill("input[name=password]", owner.user.raw_password)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/files/")
    banner = page.locator(".incident-banner")
    assert banner.count() == 1
    assert "Incident in hub uk" in banner.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
