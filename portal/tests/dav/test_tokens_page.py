"""The tokens page makes WebDAV app passwords."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from portal.models import ApiToken

pytestmark = pytest.mark.django_db(databases="__all__")


def test_tokens_page_makes_an_app_password_for_webdav(make_tenant, dav_call) -> None:
    signup = make_tenant()
    browser = Client()
    browser.force_login(signup.user)
    response = browser.post("/settings/api-tokens/", {"name": "Office laptop", "scope": "dav", "expires": "365"})
    assert response.status_code == 302
    shown = browser.get("/settings/api-tokens/").content.decode()
    raw = re.search(r'value="(hp_[^"]+)"', shown).group(1)
    assert f"/dav/{signup.tenant.slug}/" in shown and "WebDAV" in shown
    assert ApiToken.objects.get(user=signup.user).scope == "dav"
    opened = dav_call("PROPFIND", f"/dav/{signup.tenant.slug}/", auth=(signup.user.email, raw), depth="0")
    assert opened.status == 207
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me/").status_code == 401
