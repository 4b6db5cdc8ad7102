"""Signing in, two-factor enrolment and the code step, with real TOTP codes
computed in the test and time-machine stepping past the 30-second window."""

from __future__ import annotations

import re
from base64 import b32decode
from datetime import UTC, datetime, timedelta

import pytest
import segno
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp

from conftest import all_databases
from hubs.models import Membership, StaffAuditEntry, Tenant
from portal.models import AuthenticatorDevice, BackupCode, BackupCodeDevice
from portal.two_factor import totp_enrolment_confirm, totp_enrolment_start
from portal.views.accounts import PENDING_LOGIN_SESSION_KEY

pytestmark = all_databases

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def code_for(device: AuthenticatorDevice) -> str:
    """The code an authenticator app shows right now (time-machine's now)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def enrol(user) -> tuple[AuthenticatorDevice, list[str]]:
    """Enrol a TOTP device through the services, at T0."""
    with time_machine.travel(T0, tick=False):
        device = totp_enrolment_start(user=user).device
        result = totp_enrolment_confirm(
            user=user, device_id=device.pk, code=code_for(device), notice_details=NOTICE_DETAILS
        )
    return result.device, result.backup_codes


# What an edge gives a service to put in the person's email.
NOTICE_DETAILS = {"time": "2 Mar 2026, 09:00 UTC", "address": "203.0.113.9", "device": "a test"}


def backup_code_hashes(user) -> set[str]:
    """The stored hashes of the person's unused backup codes."""
    return set(BackupCode.objects.filter(device__user=user).values_list("code_hash", flat=True))


def backup_code_hash_of(user, code: str) -> str:
    return BackupCodeDevice.objects.get(user=user).code_hash(code.replace("-", ""))


def password_step(client: Client, user, next_url: str = ""):
    data = {"email": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def owner(make_tenant):
    return make_tenant(password=PASSWORD).user


# SECTION: password only


def test_login_without_device_signs_in_at_once(client: Client, owner) -> None:
    response = password_step(client, owner)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert is_signed_in(client)
    assert client.get(reverse("home")).status_code == 200


def test_login_email_is_case_insensitive(client: Client, owner) -> None:
    response = client.post(reverse("login"), {"email": owner.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert is_signed_in(client)


@pytest.mark.parametrize(
    "data",
    [
        {"email": "nobody@example.test", "password": PASSWORD},
        {"email": "OWNER", "password": "wrong"},
        {"email": "", "password": ""},
        {"email": "a" * 5000 + "@example.test", "password": "x" * 5000},
    ],
)
def test_bad_login_is_a_form_error(client: Client, owner, data: dict[str, str]) -> None:
    data = {key: (owner.email if value == "OWNER" else value) for key, value in data.items()}
    response = client.post(reverse("login"), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not is_signed_in(client)


def test_login_refuses_to_redirect_off_site(client: Client, owner) -> None:
    response = password_step(client, owner, next_url="https://evil.example/steal")
    assert response["Location"] == reverse("home")


def test_login_follows_a_local_next(client: Client, owner) -> None:
    response = password_step(client, owner, next_url=reverse("tenant_security"))
    assert response["Location"] == reverse("tenant_security")


def test_logout_is_post_only(client: Client, owner) -> None:
    client.force_login(owner)
    assert client.get(reverse("logout")).status_code == 405
    assert is_signed_in(client)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not is_signed_in(client)


def test_login_without_csrf_token_is_refused(owner) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("login"), {"email": owner.email, "password": PASSWORD}).status_code == 403


# SECTION: enrolment through the pages


def test_enrolment_shows_a_server_side_qr_code_and_the_secret_then_confirms_with_a_real_code(
    client: Client, owner
) -> None:
    client.force_login(owner)
    with time_machine.travel(T0, tick=False):
        page = client.get(reverse("two_factor_setup"))
        assert page.status_code == 200
        html = page.content.decode()
        assert "<svg" in html and 'class="qr-code"' in html
        device = AuthenticatorDevice.objects.get(user=owner)
        assert not device.confirmed
        assert page.context["enrolment"].secret_grouped.replace(" ", "") in html.replace(" ", "")
        assert "otpauth://" not in html, "the QR code is drawn on the server, not by script from a URL"
        assert device.config_url.startswith("otpauth://totp/Hubport%3A")

        # Reloading the page keeps the same secret (the app may already have it).
        client.get(reverse("two_factor_setup"))
        assert AuthenticatorDevice.objects.filter(user=owner).count() == 1

        wrong = client.post(reverse("two_factor_setup"), {"device_id": device.pk, "code": "000000"})
        assert wrong.status_code == 200
        assert wrong.context["form"].errors["code"]
        device.refresh_from_db()
        assert not device.confirmed

    # One second later the wrong-code throttle (1 s after one failure) has passed.
    with time_machine.travel(T0 + timedelta(seconds=2), tick=False):
        response = client.post(reverse("two_factor_setup"), {"device_id": device.pk, "code": code_for(device)})
        assert response.status_code == 302
        assert response["Location"] == reverse("two_factor_backup_codes")
        device.refresh_from_db()
        assert device.confirmed
        assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id

        shown = client.get(reverse("two_factor_backup_codes"))
        codes = shown.context["codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        for code in codes:
            assert code in shown.content.decode()
        stored = backup_code_hashes(owner)
        assert {backup_code_hash_of(owner, code) for code in codes} == stored
        assert not {code.replace("-", "") for code in codes} & stored, "only hashes are stored"

        again = client.get(reverse("two_factor_backup_codes"))
        assert again.context["codes"] is None, "backup codes are shown once"
        assert codes[0] not in again.content.decode()


def test_the_secret_the_page_shows_is_what_an_app_needs_and_is_stored_only_encrypted(client: Client, owner) -> None:
    """As a person who types the secret into their app: the code it then shows
    confirms the set-up, the QR code carries the same secret, and the database
    holds neither the secret nor its hex."""
    client.force_login(owner)
    with time_machine.travel(T0, tick=False):
        page = client.get(reverse("two_factor_setup"))
        shown = page.context["enrolment"].secret_grouped.replace(" ", "")
        assert re.fullmatch(r"[A-Z2-7]{32}", shown)
        secret = b32decode(shown)
        device = AuthenticatorDevice.objects.get(user=owner)
        assert f"secret={shown}" in device.config_url
        assert page.context["qr_svg"] == segno.make(device.config_url, error="m").svg_inline(
            scale=5,
            border=2,
            dark="#111827",
            light="#ffffff",
            omitsize=True,
            title="QR code for your authenticator app",
            svgclass="qr-code",
        )
        stored = AuthenticatorDevice.objects.filter(pk=device.pk).values_list("sealed_key", flat=True).get()
        assert shown not in stored and secret.hex() not in stored
        app_code = f"{totp(secret):06d}"
        response = client.post(reverse("two_factor_setup"), {"device_id": device.pk, "code": app_code})
        assert response["Location"] == reverse("two_factor_backup_codes")
    assert AuthenticatorDevice.objects.get(pk=device.pk).confirmed


def test_enrolment_confirm_refuses_another_persons_device(client: Client, make_tenant) -> None:
    alice = make_tenant(password=PASSWORD).user
    mallory = make_tenant(password=PASSWORD).user
    with time_machine.travel(T0, tick=False):
        alices_device = totp_enrolment_start(user=alice).device
        client.force_login(mallory)
        response = client.post(
            reverse("two_factor_setup"), {"device_id": alices_device.pk, "code": code_for(alices_device)}
        )
    assert response.status_code == 200
    assert "expired" in " ".join(response.context["form"].errors["code"])
    alices_device.refresh_from_db()
    assert not alices_device.confirmed
    assert not AuthenticatorDevice.objects.filter(user=mallory, confirmed=True).exists()


@pytest.mark.parametrize("code", ["", "abc", "12345", "1234567", "x" * 500])
def test_enrolment_with_malformed_code_is_a_form_error(client: Client, owner, code: str) -> None:
    client.force_login(owner)
    device = totp_enrolment_start(user=owner).device
    response = client.post(reverse("two_factor_setup"), {"device_id": device.pk, "code": code})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not AuthenticatorDevice.objects.filter(user=owner, confirmed=True).exists()


def test_enrolment_with_garbage_device_id_is_not_a_500(client: Client, owner) -> None:
    client.force_login(owner)
    for device_id in ("abc", "-1", "99999999999999999999999"):
        response = client.post(reverse("two_factor_setup"), {"device_id": device_id, "code": "123456"})
        assert response.status_code == 200


# SECTION: signing in with a code


def test_login_with_device_asks_for_a_code_before_signing_in(client: Client, owner) -> None:
    device, _ = enrol(owner)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        response = password_step(client, owner, next_url=reverse("tenant_security"))
        assert response["Location"] == reverse("login_code")
        assert not is_signed_in(client), "the password alone signs nobody in"
        assert client.session[PENDING_LOGIN_SESSION_KEY]["user_id"] == owner.pk
        assert client.get(reverse("home"))["Location"].startswith(reverse("login"))

        page = client.get(reverse("login_code"))
        assert page.status_code == 200
        assert owner.email in page.content.decode()

        response = client.post(reverse("login_code"), {"code": code_for(device)})
        assert response.status_code == 302
        assert response["Location"] == reverse("tenant_security")
        assert is_signed_in(client)
        assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
        assert PENDING_LOGIN_SESSION_KEY not in client.session
        assert client.get(reverse("home")).status_code == 200


def test_wrong_code_is_refused(client: Client, owner) -> None:
    device, _ = enrol(owner)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, owner)
        right = code_for(device)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        response = client.post(reverse("login_code"), {"code": wrong})
        assert response.status_code == 200
        assert "not right" in " ".join(response.context["form"].errors["code"])
        assert not is_signed_in(client)
        # One wrong code costs nothing more: the device is never throttled
        # (that would let anyone who knows the password lock its owner out);
        # wrong codes are counted per account and address (tests/security).
        assert client.post(reverse("login_code"), {"code": right}).status_code == 302
        assert is_signed_in(client)


@pytest.mark.parametrize("code", ["", "12 34", "not a code!", "😀" * 10, "1" * 40])
def test_malformed_codes_are_form_errors(client: Client, owner, code: str) -> None:
    enrol(owner)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, owner)
        response = client.post(reverse("login_code"), {"code": code})
        assert response.status_code == 200
        assert response.context["form"].errors
        assert not is_signed_in(client)


def test_a_totp_code_cannot_be_replayed(client: Client, owner) -> None:
    device, _ = enrol(owner)
    moment = T0 + timedelta(minutes=5)
    with time_machine.travel(moment, tick=False):
        code = code_for(device)
        password_step(client, owner)
        assert client.post(reverse("login_code"), {"code": code}).status_code == 302

        other = Client()
        password_step(other, owner)
        replay = other.post(reverse("login_code"), {"code": code})
        assert replay.status_code == 200
        assert "already been used" in " ".join(replay.context["form"].errors["code"])
        assert not is_signed_in(other)

    # The next 30-second window brings a new code, which works (after the 1 s throttle).
    with time_machine.travel(moment + timedelta(seconds=30), tick=False):
        next_code = code_for(device)
        assert next_code != code
        assert other.post(reverse("login_code"), {"code": next_code}).status_code == 302
        assert is_signed_in(other)


def test_the_enrolment_code_cannot_be_replayed_to_sign_in(client: Client, owner) -> None:
    with time_machine.travel(T0, tick=False):
        device = totp_enrolment_start(user=owner).device
        code = code_for(device)
        totp_enrolment_confirm(user=owner, device_id=device.pk, code=code, notice_details=NOTICE_DETAILS)
        password_step(client, owner)
        response = client.post(reverse("login_code"), {"code": code})
        assert response.status_code == 200
        assert not is_signed_in(client)


def test_a_backup_code_works_once(client: Client, owner) -> None:
    _, backup_codes = enrol(owner)
    assert len(backup_codes) == 10
    code = backup_codes[3]
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, owner)
        response = client.post(reverse("login_code"), {"code": code.upper()})
        assert response.status_code == 302
        assert is_signed_in(client)
        assert client.session[DEVICE_ID_SESSION_KEY] == BackupCodeDevice.objects.get(user=owner).persistent_id
        assert BackupCode.objects.filter(device__user=owner).count() == 9
        client.post(reverse("logout"))

    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        password_step(client, owner)
        again = client.post(reverse("login_code"), {"code": code})
        assert again.status_code == 200
        assert not is_signed_in(client)
        assert BackupCode.objects.filter(device__user=owner).count() == 9

    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        assert client.post(reverse("login_code"), {"code": backup_codes[4].replace("-", "")}).status_code == 302


def test_the_pending_sign_in_expires(client: Client, owner) -> None:
    device, _ = enrol(owner)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, owner)
    with time_machine.travel(T0 + timedelta(minutes=7), tick=False):
        response = client.post(reverse("login_code"), {"code": code_for(device)})
        assert response["Location"] == reverse("login")
        assert not is_signed_in(client)
        assert PENDING_LOGIN_SESSION_KEY not in client.session


def test_code_step_without_a_pending_sign_in_goes_to_login(client: Client) -> None:
    assert client.get(reverse("login_code"))["Location"] == reverse("login")
    assert client.post(reverse("login_code"), {"code": "123456"})["Location"] == reverse("login")


def test_backup_codes_regenerate_replaces_the_old_ones(client: Client, owner) -> None:
    device, old_codes = enrol(owner)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, owner)
        client.post(reverse("login_code"), {"code": code_for(device)})
        response = client.post(reverse("two_factor_backup_codes"))
        assert response["Location"] == reverse("two_factor_backup_codes")
        new_codes = client.get(reverse("two_factor_backup_codes")).context["codes"]
        assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
        client.post(reverse("logout"))
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        password_step(client, owner)
        assert client.post(reverse("login_code"), {"code": old_codes[0]}).status_code == 200
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        assert client.post(reverse("login_code"), {"code": new_codes[0]}).status_code == 302


def test_removing_the_device_needs_the_password_and_removes_backup_codes(client: Client, owner) -> None:
    device, _ = enrol(owner)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, owner)
        client.post(reverse("login_code"), {"code": code_for(device)})
        wrong = client.post(reverse("two_factor_remove"), {"device_id": device.pk, "password": "nope"})
        assert wrong.status_code == 200
        assert AuthenticatorDevice.objects.filter(user=owner).exists()
        response = client.post(reverse("two_factor_remove"), {"device_id": device.pk, "password": PASSWORD})
        assert response["Location"] == reverse("two_factor")
    assert not AuthenticatorDevice.objects.filter(user=owner).exists()
    assert not BackupCodeDevice.objects.filter(user=owner).exists()
    client.post(reverse("logout"))
    assert password_step(client, owner)["Location"] == reverse("home")


def test_device_pages_need_a_verified_session(client: Client, owner) -> None:
    enrol(owner)
    client.force_login(owner)  # password-only session, never verified with a code
    for name in ("two_factor", "two_factor_setup", "two_factor_remove", "two_factor_backup_codes"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login_code"))
    assert client.post(reverse("two_factor_backup_codes")).status_code == 302
    assert BackupCode.objects.filter(device__user=owner).count() == 10


# SECTION: a signed-in session that is not verified


def test_unverified_session_of_a_person_with_a_device_is_sent_to_the_code_step(client: Client, owner) -> None:
    client.force_login(owner)
    assert client.get(reverse("home")).status_code == 200
    device, _ = enrol(owner)  # enrolled elsewhere, e.g. in another browser
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login_code')}?next=%2F"
        page = client.get(response["Location"])
        assert page.status_code == 200 and page.context["signed_in"]
        done = client.post(reverse("login_code"), {"code": code_for(device), "next": "/"})
        assert done["Location"] == "/"
        assert client.get(reverse("home")).status_code == 200


# SECTION: a tenant that requires two-factor


@pytest.fixture
def member_of_strict_tenant(make_tenant):
    result = make_tenant(password=PASSWORD)
    Tenant.objects.filter(pk=result.tenant.pk).update(require_two_factor=True)
    member = make_tenant(password=PASSWORD).user
    Membership.objects.filter(user=member).delete()
    Membership.objects.create(user=member, tenant=result.tenant, role=Membership.Role.MEMBER)
    return member


def test_required_two_factor_sends_members_without_a_device_to_enrolment(
    client: Client, member_of_strict_tenant
) -> None:
    client.force_login(member_of_strict_tenant)
    for path in (reverse("home"), reverse("tenant_security"), "/some/later/page/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == reverse("two_factor_setup")
    assert client.get(reverse("two_factor_setup")).status_code == 200
    assert client.get(reverse("two_factor")).status_code == 200
    assert client.get(reverse("tenant_choose")).status_code == 200
    assert client.get("/api/anything/").status_code != 302
    assert client.get("/static/css/hubport.css").get("Location") is None
    assert client.post(reverse("logout")).status_code == 302
    assert not is_signed_in(client)


def test_required_two_factor_lets_the_member_in_after_enrolment(client: Client, member_of_strict_tenant) -> None:
    client.force_login(member_of_strict_tenant)
    with time_machine.travel(T0, tick=False):
        client.get(reverse("two_factor_setup"))
        device = AuthenticatorDevice.objects.get(user=member_of_strict_tenant)
        client.post(reverse("two_factor_setup"), {"device_id": device.pk, "code": code_for(device)})
        assert client.get(reverse("home")).status_code == 200


def test_required_two_factor_refuses_removing_the_device(client: Client, member_of_strict_tenant) -> None:
    device, _ = enrol(member_of_strict_tenant)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, member_of_strict_tenant)
        client.post(reverse("login_code"), {"code": code_for(device)})
        response = client.post(reverse("two_factor_remove"), {"device_id": device.pk, "password": PASSWORD})
        assert response.status_code == 200
    assert AuthenticatorDevice.objects.filter(user=member_of_strict_tenant, confirmed=True).exists()


def test_owner_requires_two_factor_on_the_security_page(client: Client, make_tenant) -> None:
    result = make_tenant(password=PASSWORD)
    owner, tenant = result.user, result.tenant
    client.force_login(owner)

    refused = client.post(reverse("tenant_security"), {"required": "on"})
    assert refused.status_code == 200
    assert "your own account" in " ".join(refused.context["form"].non_field_errors())
    tenant.refresh_from_db()
    assert not tenant.require_two_factor

    device, _ = enrol(owner)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        client.post(reverse("logout"))
        password_step(client, owner)
        client.post(reverse("login_code"), {"code": code_for(device)})
        page = client.get(reverse("tenant_security"))
        assert page.status_code == 200 and page.context["is_owner"]
        response = client.post(reverse("tenant_security"), {"required": "on"})
        assert response["Location"] == reverse("tenant_security")
    tenant.refresh_from_db()
    assert tenant.require_two_factor
    entry = StaffAuditEntry.objects.get(action="tenant.require_two_factor")
    assert (entry.actor_id, entry.tenant_id, entry.after) == (owner.pk, tenant.pk, {"require_two_factor": True})


def test_only_an_owner_can_change_the_policy(client: Client, make_tenant) -> None:
    tenant = make_tenant(password=PASSWORD).tenant
    member = make_tenant(password=PASSWORD).user
    Membership.objects.filter(user=member).delete()
    Membership.objects.create(user=member, tenant=tenant, role=Membership.Role.ADMIN)
    enrol(member)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, member)
        client.post(reverse("login_code"), {"code": code_for(AuthenticatorDevice.objects.get(user=member))})
        page = client.get(reverse("tenant_security"))
        assert page.status_code == 200 and not page.context["is_owner"]
        assert client.post(reverse("tenant_security"), {"required": "on"}).status_code == 403
    tenant.refresh_from_db()
    assert not tenant.require_two_factor


# SECTION: password reset

# The link is at HUBPORT_BASE_URL, not the test client's host (portal/tests/test_absolute_links.py).
RESET_LINK = re.escape(settings.HUBPORT_BASE_URL) + r"(/password-reset/\S+/\S+/)"


def test_password_reset_by_email_end_to_end(client: Client, owner) -> None:
    assert client.get(reverse("password_reset")).status_code == 200
    response = client.post(reverse("password_reset"), {"email": owner.email})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert message.subject == "Reset your Hubport password"
    link = re.search(RESET_LINK, message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    new_password = "a brand new passphrase"
    done = client.post(set_url, {"new_password1": new_password, "new_password2": new_password})
    assert done["Location"] == reverse("password_reset_complete")
    assert client.get(reverse("password_reset_complete")).status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(new_password)

    # The link works once.
    assert not client.get(link, follow=True).context["validlink"]
    response = client.post(reverse("login"), {"email": owner.email, "password": new_password})
    assert response["Location"] == reverse("home")


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client: Client) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.test"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_does_not_skip_the_code(client: Client, owner) -> None:
    enrol(owner)
    client.post(reverse("password_reset"), {"email": owner.email})
    link = re.search(RESET_LINK, mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    assert not is_signed_in(client)
    response = client.post(reverse("login"), {"email": owner.email, "password": "a brand new passphrase"})
    assert response["Location"] == reverse("login_code")
    assert not is_signed_in(client)
