"""The Content-Security-Policy in real Chromium: every customer page and the key
admin pages render under it with no violation at all, and what their scripts do
still works (the restore dialog's htmx preview, the token's Copy button, Swagger
UI drawing the API, the job page's polled progress bar).

Violations are caught twice: a ``securitypolicyviolation`` listener installed
before any page script (an init script, reported through an exposed binding,
so it survives navigations) and Chromium's console, which logs "Refused to ..."
for each one. The first test proves the listener hears a violation."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hubs.models import ProbeResult
from hubs.services.incidents import Observation, incidents_observe
from portal.services.staff import staff_user_ensure
from portal.tests.admin.test_accounts import STAFF_PASSWORD, totp_code
from snapshots import services
from snapshots.models import Snapshot
from snapshots.services import RestoreRequest, restore_run, restore_start, snapshot_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]

DESKTOP = {"width": 1280, "height": 860}

LISTEN = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    [event.violatedDirective, event.blockedURI || "inline", event.sourceFile || "", event.lineNumber,
     (event.sample || "").slice(0, 80), document.location.pathname].join(" | "));
}, true);
"""


INDICATOR = """() => {
  const indicator = document.createElement("span");
  indicator.className = "htmx-indicator";
  document.body.append(indicator);
  const idle = getComputedStyle(indicator).visibility;
  document.body.classList.add("htmx-request");
  const busy = getComputedStyle(indicator).visibility;
  document.body.classList.remove("htmx-request");
  indicator.remove();
  return [idle, busy];
}"""


class Violations:
    """Every CSP violation and console CSP error the pages of one browser context report."""

    def __init__(self, context: Any) -> None:
        self.seen: list[str] = []
        context.expose_binding("reportCspViolation", lambda source, text: self.seen.append(f"event: {text}"))
        context.add_init_script(LISTEN)

    def watch(self, page: Any) -> Any:
        page.on(
            "console",
            lambda message: (
                self.seen.append(f"console: {message.text}")
                if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
                else None
            ),
        )
        page.on("pageerror", lambda error: self.seen.append(f"page error: {error}"))
        return page


def settle(page: Any) -> None:
    """Wait until the page and what its scripts started are done (htmx's first load included)."""
    page.wait_for_load_state("load")
    page.wait_for_load_state("networkidle")


def visit(page: Any, url: str, heading: str, violations: Violations) -> None:
    page.goto(url)
    settle(page)
    assert violations.seen == [], "\n".join(violations.seen)
    shown = page.locator(heading).first
    shown.wait_for(state="visible")
    assert shown.inner_text().strip(), f"{url}: {heading} is empty"
    # Nothing inline was let in by any other way: no <style> element in the page at all.
    assert page.evaluate("document.querySelectorAll('style').length") == 0, url


def put(tenant: Any, path: str, content: bytes, user: Any) -> None:
    services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user
    )


def test_the_listener_hears_a_violation(live_server, chromium) -> None:
    """The detector itself: an inline style put into a page is refused and reported."""
    context = chromium.new_context(viewport=DESKTOP)
    violations = Violations(context)
    page = violations.watch(context.new_page())
    visit(page, f"{live_server.url}/login/", "h1", violations)
    assert violations.seen == []
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p id=\"probe\" style=\"color: red\">x</p>')")
    page.wait_for_function("() => document.getElementById('probe') !== null")
    page.locator("h1").first.click()  # a round trip, so the binding's report has arrived
    assert any("style-src" in seen for seen in violations.seen), violations.seen
    # The inline style really was refused, not only reported.
    assert page.evaluate("getComputedStyle(document.getElementById('probe')).color") != "rgb(255, 0, 0)"
    context.close()


def test_customer_pages_render_and_work_with_no_violation(live_server, make_tenant, chromium, monkeypatch) -> None:
    from snapshots.tasks import restore_run_task

    monkeypatch.setattr(restore_run_task, "delay", lambda **kwargs: None)
    owner = make_tenant(hub="uk", name="Strict Policy Ltd")
    put(owner.tenant, "/Reports/q3.txt", b"quarter three\n" * 50, owner.user)
    put(owner.tenant, "/notes.txt", b"notes", owner.user)
    snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user, kind=Snapshot.Kind.MANUAL)
    done = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=snapshot.pk, paths=["/Reports"], target="/Recovered"),
    )
    restore_run(tenant=owner.tenant, job_id=done.pk)
    queued = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=snapshot.pk, paths=["/notes.txt"]),
        at_once=False,  # left queued, so its page polls
    )
    base = live_server.url

    context = chromium.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    violations = Violations(context)
    page = violations.watch(context.new_page())

    # Signed out: sign-in, sign-up, the status page and the API docs.
    visit(page, f"{base}/signup/", "h1", violations)
    visit(page, f"{base}/status/", "h1", violations)
    assert page.locator("svg.uptime-bars rect").count() >= 90
    visit(page, f"{base}/api/docs/", "#swagger-ui .info .title", violations)
    # Swagger UI ran its start-up script (from ?script) and drew the operations.
    page.locator("#swagger-ui .opblock").first.wait_for(state="visible")
    assert page.locator("#swagger-ui .opblock").count() > 10
    visit(page, f"{base}/login/", "h1", violations)
    page.fill("input[name=email]", owner.user.email)
    page.fill("input[name=password]", owner.user.raw_password)
    page.click("button[type=submit]")
    settle(page)
    assert "/login" not in page.url

    visit(page, f"{base}/", "h1", violations)
    visit(page, f"{base}/files/", "h1", violations)
    assert page.locator('tr.file-row[data-path="/notes.txt"]').count() == 1
    # The storage bar's width is a class now, and the class still sizes it.
    assert page.locator(".storage__bar span").evaluate("el => el.getBoundingClientRect().width") > 0
    visit(page, f"{base}/snapshots/", "h1", violations)
    visit(page, f"{base}/snapshots/browse?snapshot={snapshot.pk}", "h1", violations)
    assert page.locator('tr.file-row[data-path="/Reports"]').count() == 1

    # The restore dialog: changing an option refreshes the preview in place through htmx.
    visit(page, f"{base}/snapshots/restore?snapshot={snapshot.pk}&paths=/Reports", "h1", violations)
    assert "/Reports/q3.txt" in page.locator("#restore-preview").inner_text()
    page.check("input[name=target][value=folder]")
    page.fill("#restore-folder", "/Elsewhere")
    page.wait_for_function("() => document.querySelector('#restore-preview').innerText.includes('/Elsewhere/Reports')")
    settle(page)
    # htmx's indicator rules, now from hubport.css: hidden, shown while a request runs.
    assert page.evaluate(INDICATOR) == ["hidden", "visible"]

    # The job pages: a finished job's bar is full, a queued one's empty and polled.
    visit(page, f"{base}/restores/{done.pk}/", "h1", violations)
    fill = page.locator(".progress__fill")
    assert fill.evaluate("el => el.getBoundingClientRect().width") == pytest.approx(
        page.locator(".progress").evaluate("el => el.getBoundingClientRect().width"), abs=1
    )
    visit(page, f"{base}/restores/{queued.pk}/", "h1", violations)
    with page.expect_response(re.compile(rf"/restores/{queued.pk}/progress")):
        pass  # the htmx poll ran (every 1 s) under the policy
    visit(page, f"{base}/restores/", "h1", violations)
    visit(page, f"{base}/storage/", "h1", violations)

    # API tokens: make one, and the Copy button copies it.
    visit(page, f"{base}/settings/api-tokens/", "h1", violations)
    page.fill("input[name=name]", "build server")
    page.get_by_role("button", name="Make token").click()
    settle(page)
    copy = page.locator("[data-copy-target=new-token]")
    copy.click()
    page.wait_for_function("() => document.querySelector('[data-copy-target=new-token]').textContent === 'Copied'")
    token = page.locator("#new-token").input_value()
    assert token.startswith("hp_")
    assert page.evaluate("navigator.clipboard.readText()") == token

    visit(page, f"{base}/settings/profile/", "h1", violations)
    visit(page, f"{base}/account/two-factor/", "h1", violations)
    visit(page, f"{base}/account/two-factor/setup/", "h1", violations)
    assert page.locator("svg.qr-code").bounding_box()["width"] > 50
    visit(page, f"{base}/activity/", "h1", violations)
    visit(page, f"{base}/recently-deleted/", "h1", violations)

    assert violations.seen == [], "\n".join(violations.seen)
    context.close()


def test_admin_pages_render_with_no_violation(live_server, make_tenant, chromium) -> None:
    owner = make_tenant(hub="uk", name="Admin View Ltd")
    snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user, kind=Snapshot.Kind.MANUAL)
    job = restore_start(
        tenant=owner.tenant, acting_user=owner.user, request=RestoreRequest(snapshot_id=snapshot.pk, paths=["/"])
    )
    restore_run(tenant=owner.tenant, job_id=job.pk)
    now = timezone.now()
    for minute in range(5):
        at = now - timedelta(minutes=5 - minute)
        ok = minute != 3
        ProbeResult.objects.create(
            hub_id="uk", name="database.read", component="database", severity="critical", ok=ok,
            latency_ms=2.0 + minute, detail="" if ok else "OperationalError", at=at,
        )  # fmt: skip
        incidents_observe(observations=[Observation("uk", "database.read", "database", "critical", ok, "", at)], now=at)
    enrolment = staff_user_ensure(email="support@hubport.test", password=STAFF_PASSWORD, superuser=True)
    base = live_server.url

    context = chromium.new_context(viewport=DESKTOP)
    violations = Violations(context)
    page = violations.watch(context.new_page())
    visit(page, f"{base}/admin/login/", "#site-name", violations)
    page.fill("input[name=username]", "support@hubport.test")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.fill("input[name=otp_token]", totp_code(enrolment.device))
    page.click("input[type=submit]")
    settle(page)

    visit(page, f"{base}/admin/", "#content h1", violations)
    assert page.locator("#content h1").inner_text() == "Run the service"
    visit(page, f"{base}/admin/hubs/tenant/", "#content h1", violations)
    visit(page, f"{base}/admin/hubs/tenant/{owner.tenant.pk}/change/", "#content h1", violations)
    # The admin's own scripts still run: the collapsible fieldsets and the nav filter.
    assert page.locator("#nav-filter").count() == 1
    visit(page, f"{base}/admin/hubs/tenant/{owner.tenant.pk}/restores/", "#content h1", violations)
    bar = page.locator(".tenant-data-progress span").first
    assert bar.evaluate("el => el.getBoundingClientRect().width") == pytest.approx(
        page.locator(".tenant-data-progress").first.evaluate("el => el.clientWidth"), abs=1
    )
    visit(page, f"{base}/admin/hubs/tenant/{owner.tenant.pk}/snapshots/", "#content h1", violations)
    visit(page, f"{base}/admin/hubs/probestreak/", "#content h1", violations)
    assert page.locator("svg.sparkline rect").count() == 5
    visit(page, f"{base}/admin/hubs/incident/", "#content h1", violations)
    # An add form with the admin's date widgets: their scripts run and fill a field.
    visit(page, f"{base}/admin/hubs/maintenancewindow/add/", "#content h1", violations)
    page.locator(".datetimeshortcuts a", has_text="Today").first.click()
    assert str(timezone.now().year) in page.locator("input.vDateField").first.input_value()
    page.locator(".datetimeshortcuts a.clock-icon, .datetimeshortcuts a[id^=clocklink]").first.click()
    page.locator(".clockbox", has_text="Noon").first.wait_for(state="visible")

    assert violations.seen == [], "\n".join(violations.seen)
    context.close()
