"""Personal access tokens: the services, the API's answers to bad tokens, the
Settings → API tokens page and ``manage.py create_api_token``."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from conftest import all_databases
from hubs.models import Membership
from portal.models import ApiToken
from portal.tests.api.conftest import problem
from portal.tokens import api_token_authenticate, api_token_create, api_token_revoke
from portal.views.tokens import NEW_TOKEN_SESSION_KEY

pytestmark = all_databases

TOKEN_PATTERN = re.compile(r"^hp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


# SECTION: services


def test_create_returns_the_token_once_and_stores_only_its_hash(make_tenant):
    signup = make_tenant()
    token, raw = api_token_create(user=signup.user, tenant=signup.tenant, name=" Backup script ")

    assert TOKEN_PATTERN.match(raw)
    assert token.name == "Backup script"
    assert raw.startswith(f"hp_{token.prefix}_")
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = ApiToken.objects.values().get(pk=token.pk)
    assert raw not in str(stored) and raw.split("_", 2)[2] not in str(stored)


def test_tokens_differ_every_time(make_tenant):
    signup = make_tenant()
    raws = {api_token_create(user=signup.user, tenant=signup.tenant, name="t")[1] for _ in range(5)}
    assert len(raws) == 5


@pytest.mark.parametrize(
    ("name", "expires_in", "field"),
    [("", None, "name"), ("   ", None, "name"), ("x" * 101, None, "name"), ("ok", timedelta(seconds=-1), "expires_at")],
)
def test_create_refuses_bad_input(make_tenant, name, expires_in, field):
    signup = make_tenant()
    expires_at = timezone.now() + expires_in if expires_in else None
    with pytest.raises(ValidationError) as caught:
        api_token_create(user=signup.user, tenant=signup.tenant, name=name, expires_at=expires_at)
    assert field in caught.value.message_dict
    assert not ApiToken.objects.exists()


def test_create_refuses_a_tenant_the_user_does_not_belong_to(make_tenant):
    mine, theirs = make_tenant(), make_tenant()
    with pytest.raises(ValidationError):
        api_token_create(user=mine.user, tenant=theirs.tenant, name="t")


def test_authenticate_accepts_a_good_token_and_notes_its_use_at_most_once_a_minute(make_tenant):
    signup = make_tenant()
    token, raw = api_token_create(user=signup.user, tenant=signup.tenant, name="t")
    assert token.last_used_at is None

    assert api_token_authenticate(raw) == token
    first_use = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first_use is not None
    api_token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first_use

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api_token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first_use


def test_authenticate_refuses_unknown_revoked_expired_and_orphaned_tokens(make_tenant):
    signup = make_tenant()
    _, raw = api_token_create(user=signup.user, tenant=signup.tenant, name="t")
    assert api_token_authenticate(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert api_token_authenticate("") is None
    assert api_token_authenticate("hp_zz") is None

    token, revoked = api_token_create(user=signup.user, tenant=signup.tenant, name="r")
    api_token_revoke(token=token, acting_user=signup.user)
    assert api_token_authenticate(revoked) is None

    token, expired = api_token_create(
        user=signup.user, tenant=signup.tenant, name="e", expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_token_authenticate(expired) is None

    assert api_token_authenticate(raw) is not None
    Membership.objects.filter(user=signup.user, tenant=signup.tenant).delete()
    assert api_token_authenticate(raw) is None


def test_a_person_revokes_only_their_own_tokens(make_tenant):
    owner, stranger = make_tenant(), make_tenant()
    token, _ = api_token_create(user=owner.user, tenant=owner.tenant, name="t")
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, acting_user=stranger.user)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    api_token_revoke(token=token, acting_user=owner.user)
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    api_token_revoke(token=token, acting_user=owner.user)
    assert ApiToken.objects.get(pk=token.pk).revoked_at == revoked_at


# SECTION: the API's answers


def test_revoked_token_answers_401_and_changes_nothing(api):
    api_token_revoke(token=ApiToken.objects.get(user=api.user), acting_user=api.user)
    before = api.clock()
    assert "revoked" in problem(api.put_bytes("/a.txt", b"x"), 401)["detail"]
    assert "revoked" in problem(api.get("/api/v1/files/"), 401)["detail"]
    assert api.clock() == before and api.tree() == {}


def test_expired_token_answers_401(api):
    ApiToken.objects.filter(user=api.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "expired" in problem(api.get("/api/v1/me/"), 401)["detail"]
    problem(api.post("/api/v1/files/folders", {"path": "/a"}), 401)
    assert api.tree() == {}


def test_token_of_a_removed_member_answers_401(api):
    Membership.objects.filter(user=api.user, tenant=api.tenant).delete()
    assert "no longer belongs" in problem(api.get("/api/v1/me/"), 401)["detail"]


def test_token_of_a_disabled_user_answers_401(api):
    api.user.is_active = False
    api.user.save(update_fields=["is_active"])
    problem(api.get("/api/v1/me/"), 401)


# SECTION: the page


@pytest.fixture
def browser(make_tenant):
    signup = make_tenant()
    client = Client()
    client.force_login(signup.user)
    client.signup = signup
    return client


def test_tokens_page_needs_sign_in(client):
    response = client.get("/settings/api-tokens/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_tokens_page_makes_a_token_and_shows_it_once(browser):
    page = browser.get("/settings/api-tokens/")
    assert page.status_code == 200
    assert b"You have no tokens" in page.content
    assert b'href="/settings/api-tokens/"' in page.content  # the nav link

    response = browser.post("/settings/api-tokens/", {"name": "NAS backup", "expires": "90"})
    assert response.status_code == 302
    shown = browser.get("/settings/api-tokens/").content.decode()
    raw = re.search(r'value="(hp_[^"]+)"', shown).group(1)
    assert TOKEN_PATTERN.match(raw)
    assert "only time it is shown" in shown and "data-copy-target" in shown
    token = ApiToken.objects.get(user=browser.signup.user)
    assert token.name == "NAS backup"
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert f"hp_{token.prefix}_" in shown

    again = browser.get("/settings/api-tokens/").content.decode()
    assert raw not in again and "NAS backup" in again
    assert NEW_TOKEN_SESSION_KEY not in browser.session
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me/").status_code == 200


def test_tokens_page_makes_a_token_that_never_expires(browser):
    browser.post("/settings/api-tokens/", {"name": "forever", "expires": "never"})
    assert ApiToken.objects.get(user=browser.signup.user).expires_at is None


@pytest.mark.parametrize("form", [{"name": "", "expires": "30"}, {"name": "x", "expires": "10000"}, {"name": "x"}])
def test_tokens_page_refuses_bad_forms(browser, form):
    response = browser.post("/settings/api-tokens/", form)
    assert response.status_code == 200
    assert b"field__error" in response.content
    assert not ApiToken.objects.exists()


def test_tokens_page_revokes_a_token(browser):
    token, raw = api_token_create(user=browser.signup.user, tenant=browser.signup.tenant, name="old script")
    page = browser.get("/settings/api-tokens/").content.decode()
    assert f"/settings/api-tokens/{token.pk}/revoke/" in page

    response = browser.post(f"/settings/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert "Revoked" in browser.get("/settings/api-tokens/").content.decode()
    problem(Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me/"), 401)


def test_tokens_page_cannot_revoke_another_persons_token(browser, make_tenant):
    stranger = make_tenant()
    token, _ = api_token_create(user=stranger.user, tenant=stranger.tenant, name="theirs")
    assert browser.post(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 404
    assert browser.post(f"/settings/api-tokens/{2**64}/revoke/").status_code == 404
    assert browser.get(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert "theirs" not in browser.get("/settings/api-tokens/").content.decode()


def test_tokens_page_lists_only_the_current_workspaces_tokens(browser, make_tenant):
    other = make_tenant()
    Membership.objects.create(user=browser.signup.user, tenant=other.tenant)
    api_token_create(user=browser.signup.user, tenant=browser.signup.tenant, name="here")
    api_token_create(user=browser.signup.user, tenant=other.tenant, name="elsewhere")
    from portal.middleware.tenant import SESSION_TENANT_KEY

    store = browser.session
    store[SESSION_TENANT_KEY] = browser.signup.tenant.pk
    store.save()
    page = browser.get("/settings/api-tokens/").content.decode()
    assert "here" in page and "elsewhere" not in page


# SECTION: create_api_token


def run(*args: str) -> str:
    stdout = StringIO()
    call_command("create_api_token", *args, stdout=stdout)
    return stdout.getvalue()


def test_command_prints_only_the_token(make_tenant):
    signup = make_tenant()
    output = run(signup.user.email.upper())
    raw = output.strip()
    assert output == raw + "\n"
    assert TOKEN_PATTERN.match(raw)
    token = api_token_authenticate(raw)
    assert token.user == signup.user and token.tenant == signup.tenant
    assert token.expires_at is None


def test_command_takes_tenant_name_and_expiry(make_tenant):
    first, second = make_tenant(), make_tenant()
    Membership.objects.create(user=first.user, tenant=second.tenant)
    raw = run(first.user.email, "--tenant", second.tenant.slug, "--name", "CI", "--expires-days", "7").strip()
    token = api_token_authenticate(raw)
    assert token.tenant == second.tenant and token.name == "CI"
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@example.test"], "no user"),
        (["{email}", "--tenant", "nope"], "not a member"),
        (["{email}", "--expires-days", "0"], "at least 1"),
        (["{email}", "--name", ""], "name"),
    ],
)
def test_command_refuses_bad_input(make_tenant, args, message):
    signup = make_tenant()
    with pytest.raises(CommandError, match=message):
        run(*[arg.format(email=signup.user.email) for arg in args])
    assert not ApiToken.objects.exists()


def test_command_needs_tenant_when_the_user_has_several(make_tenant):
    first, second = make_tenant(), make_tenant()
    Membership.objects.create(user=first.user, tenant=second.tenant)
    with pytest.raises(CommandError, match="several workspaces"):
        run(first.user.email)
