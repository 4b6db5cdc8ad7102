"""Invite and accept in real headless Chromium: the owner invites a colleague
by email on the members page, a real worker sends the email, the link in it is
followed in a second browser context (another person's browser), the invitee
makes an account and lands in the workspace with the role; the members page
then shows them, and is screenshotted at 1280 and 390 px with no sideways scroll."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail

from hubs.models import Membership
from portal.tests.browser.test_files_browser import DESKTOP, PHONE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

INVITEE = "colleague@team-browser.test"


def invitation_email(deadline_seconds: float = 30.0):
    """The invitation to INVITEE, once the worker has sent it (polled up to the deadline)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        found = [message for message in mail.outbox if message.to == [INVITEE]]
        if found:
            return found[0]
        time.sleep(0.1)  # polling for a condition with a deadline, not waiting out a guess
    raise AssertionError(f"no invitation email to {INVITEE} within {deadline_seconds} s")


def test_invite_and_accept_in_chromium(live_server, make_tenant, chromium, celery_worker, settings, screenshot_dir):
    settings.HUBPORT_BASE_URL = live_server.url
    owner = make_tenant(hub="uk", name="Team Browser Ltd").user
    owner_context = chromium.new_context(viewport=DESKTOP)
    invitee_context = chromium.new_context(viewport=DESKTOP)
    page, theirs = owner_context.new_page(), invitee_context.new_page()
    errors: list[str] = []
    for each in (page, theirs):
        each.on("pageerror", lambda error: errors.append(str(error)))

    sign_in(page, live_server.url, owner.email, owner.raw_password)
    page.click("nav.main-nav >> text=Members")
    page.wait_for_url(re.compile(r"/settings/members/$"))
    page.fill("#invite-form input[name=email]", INVITEE)
    page.select_option("#invite-form select[name=role]", "read_only")
    page.click("#invite-form button[type=submit]")
    page.wait_for_url(re.compile(r"/settings/members/$"))
    assert f"Invitation sent to {INVITEE} as read-only" in page.content()
    assert page.locator(f'#invitations li[data-email="{INVITEE}"]').count() == 1

    message = invitation_email()
    link = re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)
    assert link.startswith(live_server.url)

    theirs.goto(link)
    assert "Join Team Browser Ltd" in theirs.content()
    theirs.fill("input[name=password1]", "a long pass phrase 42")
    theirs.fill("input[name=password2]", "a long pass phrase 42")
    theirs.click("#invitation-signup button[type=submit]")
    theirs.wait_for_url(re.compile(r"/$"))
    assert "Welcome to Team Browser Ltd. You joined as read-only." in theirs.content()
    assert theirs.locator(".tenant-badge__name").inner_text() == "Team Browser Ltd"
    joined = Membership.objects.get(user__email=INVITEE)
    assert (joined.tenant.name, joined.role) == ("Team Browser Ltd", "read_only")
    # Every page tells a read-only member what they can and cannot do.
    assert "you can browse, download and see history" in theirs.locator("#read-only-banner").inner_text()
    theirs.click("nav.main-nav >> text=Members")
    assert theirs.locator(f'tr.member-row[data-email="{INVITEE}"]').get_attribute("data-role") == "read_only"

    page.reload()
    row = page.locator(f'tr.member-row[data-email="{INVITEE}"]')
    assert "Read-only" in row.inner_text()
    assert page.locator("#invitations").count() == 0, "the accepted invitation is no longer pending"
    assert "joined as read-only" in page.locator("#team-history").inner_text()
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.reload()
        page.screenshot(path=str(screenshot_dir / f"members-{label}.png"), full_page=True)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the members page scrolls sideways by {overflow} px at {viewport['width']} px"
    assert errors == []
    owner_context.close()
    invitee_context.close()
