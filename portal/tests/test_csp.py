"""The Content-Security-Policy without a browser: every HTML page (customer,
public, API docs, every admin list) carries the strict header, with nothing
'unsafe-' in it; the HTML those pages send has no inline script, <style>,
style="" or on*="" handler (Python-made HTML such as the admin's sparklines and
the QR code included); and no template file has one either. The browser test
(portal/tests/browser/test_csp_browser.py) shows the pages work under it."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from conftest import all_databases
from hubs.models import ProbeResult
from hubs.services.incidents import Observation, incidents_observe
from portal.security.sign_in_link import sign_in_link_issue
from portal.templatetags.fill import fill_class
from portal.tests.admin.test_accounts import login_verified
from snapshots import services
from snapshots.models import Snapshot
from snapshots.services import RestoreRequest, restore_run, restore_start, snapshot_create

STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

# SECTION: reading a policy and a page


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


class InlineFinder(HTMLParser):
    """Everything in an HTML page a policy without 'unsafe-inline' would refuse."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        where = f"line {self.getpos()[0]}: <{tag}"
        if tag == "style":
            self.found.append(f"{where}> element")
        if tag == "script" and not names.get("src"):
            self.found.append(f"{where}> without src")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'{where} style="{value}">')
            elif name.startswith("on"):
                self.found.append(f'{where} {name}="{value}">')
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f'{where} {name}="{value}">')


def inline_parts(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def assert_strict_html_page(response, url: str, *, extra: dict[str, list[str]] | None = None) -> None:
    assert response.status_code == 200, (url, response.status_code)
    assert response["Content-Type"].startswith("text/html"), url
    header = response.get("Content-Security-Policy")
    assert header, f"{url} has no Content-Security-Policy"
    assert "unsafe" not in header, (url, header)
    expected = {name: list(sources) for name, sources in STRICT.items()}
    for name, sources in (extra or {}).items():
        expected[name] = expected[name] + sources
    assert directives(header) == expected, (url, header)
    assert inline_parts(response.content.decode()) == [], url


# SECTION: the pages


@pytest.fixture
def customer(make_tenant):
    owner = make_tenant(hub="uk", name="Header Check Ltd")
    for path, content in (("/Reports/q3.txt", b"q3" * 100), ("/notes.txt", b"notes")):
        services.file_write(
            tenant=owner.tenant, path=path, stream=io.BytesIO(content), content_length=len(content),
            acting_user=owner.user,
        )  # fmt: skip
    snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user, kind=Snapshot.Kind.MANUAL)
    job = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=snapshot.pk, paths=["/Reports"], target="/Recovered"),
    )
    restore_run(tenant=owner.tenant, job_id=job.pk)
    return SimpleNamespace(tenant=owner.tenant, user=owner.user, snapshot=snapshot, job=job)


PUBLIC_PAGES = ["/login/", "/signup/", "/password-reset/", "/status/", "/status/subscribe/"]


@all_databases
@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_carry_the_strict_policy(client: Client, url: str) -> None:
    assert_strict_html_page(client.get(url), url)


@all_databases
def test_the_api_docs_add_only_data_images(client: Client) -> None:
    response = client.get("/api/docs/")
    assert_strict_html_page(response, "/api/docs/", extra={"img-src": ["data:"]})
    # The schema and the start-up script are not pages; the rest of the API keeps the strict policy.
    assert directives(client.get("/api/schema/")["Content-Security-Policy"]) == STRICT


@all_databases
def test_customer_pages_carry_the_strict_policy(client: Client, customer) -> None:
    client.force_login(customer.user)
    snapshot, job = customer.snapshot, customer.job
    pages = [
        "/",
        "/files/",
        "/files/Reports",
        "/snapshots/",
        f"/snapshots/browse?snapshot={snapshot.pk}",
        f"/snapshots/restore?snapshot={snapshot.pk}&paths=/Reports",
        "/restores/",
        f"/restores/{job.pk}/",
        f"/restores/{job.pk}/progress",
        "/versions/?path=/notes.txt",
        "/storage/",
        "/activity/",
        "/recently-deleted/",
        "/settings/api-tokens/",
        "/settings/profile/",
        "/settings/password/",
        "/settings/email/",
        "/settings/security/",
        "/tenants/choose/",
        "/account/two-factor/",
        "/account/two-factor/setup/",
        "/status/",
    ]
    for url in pages:
        assert_strict_html_page(client.get(url), url)


@all_databases
def test_every_admin_list_and_the_tenant_pages_carry_the_strict_policy(client: Client, customer) -> None:
    login_verified(client)
    at = timezone.now()
    ProbeResult.objects.create(
        hub_id="uk", name="database.read", component="database", severity="critical", ok=True, latency_ms=2.0, at=at
    )
    incidents_observe(observations=[Observation("uk", "database.read", "database", "critical", True, "", at)], now=at)
    tenant = customer.tenant.pk
    pages = ["/admin/", f"/admin/hubs/tenant/{tenant}/change/", f"/admin/hubs/tenant/{tenant}/snapshots/"]
    pages += [f"/admin/hubs/tenant/{tenant}/restores/", f"/admin/hubs/tenant/{tenant}/restores/{customer.job.pk}/"]
    pages += [f"/admin/hubs/tenant/{tenant}/restores/new/", f"/admin/hubs/tenant/{tenant}/purge/"]
    pages += [f"/admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry]
    for url in pages:
        response = client.get(url)
        assert_strict_html_page(response, url)
    # Every add form the admin offers (the widgets' scripts included).
    added = 0
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/"
        response = client.get(url)
        if response.status_code == 200:
            assert_strict_html_page(response, url)
            added += 1
    assert added >= 3
    probes = client.get("/admin/hubs/probestreak/").content.decode()
    assert '<svg class="sparkline"' in probes, "the sparkline was checked too"


@all_databases
def test_the_emailed_sign_in_link_page_carries_it(client: Client, customer) -> None:
    url = f"/login/link/{sign_in_link_issue(user=customer.user, next_url='/')}/"
    assert_strict_html_page(client.get(url), url)


@all_databases
def test_a_refused_form_and_a_missing_page_carry_it_too(customer) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"email": "a@example.test", "password": "x"})
    assert response.status_code == 403
    assert directives(response["Content-Security-Policy"]) == STRICT
    html = response.content.decode()
    assert "CSRF verification failed" in html
    assert inline_parts(html) == []
    missing = Client().get("/no-such-page/")
    assert missing.status_code == 404
    assert directives(missing["Content-Security-Policy"]) == STRICT


# SECTION: the sources


INLINE_IN_TEMPLATES = [
    ("<style> element", re.compile(r"<style\b", re.IGNORECASE)),
    ("<script> without src", re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)),
    ("style attribute", re.compile(r"""[\s"']style\s*=""", re.IGNORECASE)),
    ("inline event handler", re.compile(r"""[\s"']on[a-z]+\s*=""", re.IGNORECASE)),
    ("javascript: URL", re.compile(r"javascript:", re.IGNORECASE)),
    ("htmx hx-on handler", re.compile(r"\bhx-on\b|\bhx-on[:-]", re.IGNORECASE)),
]


def template_files() -> list[Path]:
    folders = [Path(folder) for folder in settings.TEMPLATES[0]["DIRS"]]
    folders += [settings.BASE_DIR / app / "templates" for app in ("hubs", "portal", "snapshots")]
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*.html"))


def inline_in(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for label, pattern in INLINE_IN_TEMPLATES:
            if pattern.search(line):
                found.append((number, label))
    return found


def test_no_template_has_inline_script_or_style() -> None:
    files = template_files()
    assert len(files) > 50, "the templates were found"
    found = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}: {label}"
        for path in files
        for number, label in inline_in(path.read_text())
    ]
    assert found == [], "inline code the Content-Security-Policy refuses:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "<style>.x { color: red }</style>",
        "<script>alert(1)</script>",
        '<script type="module">go()</script>',
        '<span style="width: 3%"></span>',
        "<button onclick='go()'>",
        '<form class="x" onsubmit="return false">',
        '<a href="javascript:go()">',
        '<div hx-on:click="go()">',
    ],
)
def test_the_template_check_finds_each_kind(line: str) -> None:
    assert inline_in(line), line


@pytest.mark.parametrize(
    "line",
    [
        '<script src="/static/js/files.js" defer></script>',
        '<link rel="stylesheet" href="/static/css/hubport.css">',
        '<span class="fill-37" data-percent="37"></span>',
        '<rect class="uptime-bar" fill="#fff" stroke="#000">',
        '<button type="button" data-copy-target="new-token">Copy</button>',
    ],
)
def test_the_template_check_lets_clean_lines_be(line: str) -> None:
    assert inline_parts(line) == []
    assert inline_in(line) == []


def test_no_python_module_writes_a_style_attribute() -> None:
    """HTML made in Python (format_html, the sparkline, the QR code) keeps to classes and SVG attributes."""
    pattern = re.compile(r"""\sstyle\s*=\s*\\?["'{]""")
    found = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for app in ("hubs", "portal", "snapshots")
        for path in sorted((settings.BASE_DIR / app).rglob("*.py"))
        if "tests" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "fill-0"), (0.2, "fill-1"), (37.4, "fill-37"), (37.5, "fill-38"), (99.9, "fill-100"), (100, "fill-100")]
    + [(250, "fill-100"), (-3, "fill-0"), (None, "fill-0"), ("n/a", "fill-0"), ("12.6", "fill-13")],
)
def test_a_bar_width_is_a_class(value, expected) -> None:
    assert fill_class(value) == expected


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_a_bar_class_is_the_nearest_whole_percent_and_never_hides_a_share(value: float) -> None:
    percent = int(fill_class(value).removeprefix("fill-"))
    assert 0 <= percent <= 100
    if value <= 0:
        assert percent == 0
    elif value >= 100:
        assert percent == 100
    else:
        assert percent >= 1 and abs(percent - value) <= max(0.5, 1 - value) + 1e-9


def test_every_bar_class_has_its_rule() -> None:
    css = (settings.BASE_DIR / "static" / "css" / "fill.css").read_text()
    for percent in range(101):
        assert f".fill-{percent} {{ width: {percent}%; }}" in css
