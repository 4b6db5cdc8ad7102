"""The support staff's admin: two-factor entry, tenants, memberships, users,
devices and the read-only staff audit log, through Django's test client."""

from __future__ import annotations

from base64 import b32decode
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.oath import TOTP

from conftest import all_databases
from hubs.models import StaffAuditEntry, Tenant
from portal.models import AuthenticatorDevice, BackupCodeDevice, User
from portal.services.staff import staff_user_ensure
from portal.two_factor import backup_codes_regenerate
from snapshots.models import TenantClock

pytestmark = all_databases

STAFF_PASSWORD = "staff-pass-phrase-2026"


# SECTION: helpers shared with the hubs admin tests


def totp_code(device: AuthenticatorDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def login_verified(client: Client, *, email: str = "support@hubport.test", superuser: bool = True) -> User:
    """Sign in through the admin login form with password and a real TOTP code."""
    enrolment = staff_user_ensure(email=email, password=STAFF_PASSWORD, superuser=superuser)
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": email,
            "password": STAFF_PASSWORD,
            "otp_device": enrolment.device.persistent_id,
            "otp_token": totp_code(enrolment.device),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == "/admin/"
    return enrolment.user


def _add_field(data: dict[str, Any], name: str, value: Any) -> None:
    if value is None or value is False:
        return
    if value is True:
        data[name] = "on"
    elif isinstance(value, (list, tuple)):
        data[name] = [str(item) for item in value]
    else:
        data[name] = str(value)


def changeform_data(response: Any) -> dict[str, Any]:
    """The POST a browser would send back unchanged from an admin change page."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name in form.fields:
        _add_field(data, form.add_prefix(name), form[name].value())
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            _add_field(data, management.add_prefix(name), management[name].value())
        for inline_form in formset.forms:
            for name in inline_form.fields:
                _add_field(data, inline_form.add_prefix(name), inline_form[name].value())
    return data


def audit_entries(action: str, **filters: Any) -> list[StaffAuditEntry]:
    return list(StaffAuditEntry.objects.filter(action=action, **filters))


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.staff_user = login_verified(client)  # type: ignore[attr-defined]
    return client


# SECTION: two-factor entry


def test_staff_without_a_device_cannot_enter_the_admin(client):
    User.objects.create_user(
        username="nodevice@hubport.test", email="nodevice@hubport.test", password=STAFF_PASSWORD, is_staff=True
    )
    client.force_login(User.objects.get(email="nodevice@hubport.test"))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get("/admin/hubs/tenant/").status_code == 302

    client.logout()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "nodevice@hubport.test", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, "a correct password alone does not sign staff in"
    assert "otp_token" in response.context["form"].fields
    assert response.context["form"].errors
    assert client.get("/admin/").status_code == 302


def test_a_wrong_code_is_refused(client):
    enrolment = staff_user_ensure(email="wrongcode@hubport.test", password=STAFF_PASSWORD)
    good = totp_code(enrolment.device)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "wrongcode@hubport.test",
            "password": STAFF_PASSWORD,
            "otp_device": enrolment.device.persistent_id,
            "otp_token": wrong,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get("/admin/").status_code == 302


def code_from_otpauth_url(url: str) -> str:
    """The current code an authenticator app shows for an otpauth:// URL."""
    secret = parse_qs(urlsplit(url).query)["secret"][0]
    return f"{TOTP(b32decode(secret + '=' * (-len(secret) % 8))).token():06d}"


def test_staff_sign_in_at_the_first_attempt_with_password_and_code(client):
    """It used to fail with "Please select a device" even with the right password
    and code: the login page lists the devices only once a POST has checked the
    password, so the first POST names none. One authenticator: it is that one."""
    stdout = StringIO()
    call_command("create_staff", "--email", "first@hubport.test", "--password", STAFF_PASSWORD, stdout=stdout)
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 200 and 'name="otp_device"' not in page.content.decode()

    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "first@hubport.test",
            "password": STAFF_PASSWORD,
            "otp_token": code_from_otpauth_url(stdout.getvalue()),
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_with_an_app_and_backup_codes_sign_in_with_either_at_the_first_attempt(client):
    enrolment = staff_user_ensure(email="both@hubport.test", password=STAFF_PASSWORD)
    backup_code = backup_codes_regenerate(user=enrolment.user, notice_details={})[0]
    login = {"username": "both@hubport.test", "password": STAFF_PASSWORD}

    response = client.post("/admin/login/?next=/admin/", {**login, "otp_token": totp_code(enrolment.device)})
    assert response.status_code == 302, response.context["form"].errors
    client.logout()

    response = client.post("/admin/login/?next=/admin/", {**login, "otp_token": backup_code})
    assert response.status_code == 302, response.context["form"].errors
    assert client.get("/admin/").status_code == 200
    device = BackupCodeDevice.objects.get(user=enrolment.user)
    assert not device.codes.filter(code_hash=device.code_hash(backup_code.replace("-", ""))).exists(), "used once"
    assert device.codes.count() == 9


def test_staff_with_two_authenticator_apps_are_asked_which_one(client):
    enrolment = staff_user_ensure(email="two@hubport.test", password=STAFF_PASSWORD)
    second = AuthenticatorDevice.objects.create(user=enrolment.user, name="Spare phone", confirmed=True)
    login = {"username": "two@hubport.test", "password": STAFF_PASSWORD}

    response = client.post("/admin/login/?next=/admin/", {**login, "otp_token": totp_code(second)})

    assert response.status_code == 200
    assert "Please select a device." in response.context["form"].errors["__all__"]
    choices = dict(response.context["form"].fields["otp_device"].widget.choices)
    assert {enrolment.device.persistent_id, second.persistent_id} <= set(choices)
    response = client.post(
        "/admin/login/?next=/admin/", {**login, "otp_device": second.persistent_id, "otp_token": totp_code(second)}
    )
    assert response.status_code == 302, response.context["form"].errors


def test_staff_with_a_totp_device_reaches_the_admin_and_the_tenant_list(client, make_tenant):
    tenant = make_tenant(hub="uk", name="Acme Widgets", email="boss@acme.test").tenant
    login_verified(client)

    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/hubs/tenant/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme Widgets" in page
    assert "boss@acme.test" in page, "the owner's email is listed"
    assert tenant.slug in page


# SECTION: tenants


def test_tenant_hub_is_read_only_on_change_and_the_change_is_audited(staff_client, make_tenant):
    tenant = make_tenant(hub="uk", name="Before Ltd").tenant
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    page = staff_client.get(url)
    assert "hub" not in page.context["adminform"].form.fields
    data = changeform_data(page)
    data.update({"name": "After Ltd", "hub": "de"})

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    tenant.refresh_from_db()
    assert tenant.name == "After Ltd"
    assert tenant.hub_id == "uk"
    [entry] = audit_entries("tenant.change", target_id=str(tenant.pk))
    assert entry.actor == staff_client.staff_user
    assert entry.actor_email == "support@hubport.test"
    assert entry.tenant == tenant
    assert entry.before["name"] == "Before Ltd"
    assert entry.after["name"] == "After Ltd"
    assert entry.before["hub"] == entry.after["hub"] == "uk"


def test_two_factor_policy_and_snapshot_schedule_are_saved_by_the_service_with_one_entry(
    staff_client, make_tenant, monkeypatch
):
    from portal.admin import accounts

    tenant = make_tenant(hub="de").tenant
    assert (tenant.require_two_factor, tenant.snapshot_schedule) == (False, "hourly")
    calls: list[dict[str, Any]] = []
    real = accounts.tenant_admin_change

    def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(accounts, "tenant_admin_change", spy)
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data.update({"require_two_factor": "on", "snapshot_schedule": "daily"})

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    tenant.refresh_from_db()
    assert (tenant.require_two_factor, tenant.snapshot_schedule) == (True, "daily")
    [call] = calls
    assert (call["require_two_factor"], call["snapshot_schedule"], call["acting_user"]) == (
        True,
        "daily",
        staff_client.staff_user,
    )
    [entry] = audit_entries("tenant.change", target_id=str(tenant.pk))
    assert (entry.before["require_two_factor"], entry.after["require_two_factor"]) == (False, True)
    assert (entry.before["snapshot_schedule"], entry.after["snapshot_schedule"]) == ("hourly", "daily")
    assert entry.tenant == tenant and entry.actor == staff_client.staff_user


def test_the_staff_tenant_service_holds_the_rules_the_form_checks_too(make_tenant):
    from django.core.exceptions import ValidationError

    from portal.services.staff import tenant_admin_change

    tenant = make_tenant(hub="uk").tenant
    taken = make_tenant(hub="uk").tenant
    values = {
        "name": tenant.name,
        "slug": tenant.slug,
        "require_two_factor": False,
        "snapshot_schedule": "hourly",
        "quota_bytes": None,
        "max_file_bytes": None,
    }
    for field, value in (("snapshot_schedule", "weekly"), ("slug", "admin"), ("slug", taken.slug), ("quota_bytes", 0)):
        with pytest.raises(ValidationError) as caught:
            tenant_admin_change(tenant=tenant, acting_user=None, **{**values, field: value})
        assert field in caught.value.message_dict
    assert tenant_admin_change(tenant=tenant, acting_user=None, **values).slug == tenant.slug
    assert audit_entries("tenant.change") == [], "nothing changed, nothing written"


def test_saving_a_tenant_unchanged_writes_no_entry(staff_client, make_tenant):
    tenant = make_tenant(hub="uk").tenant
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    response = staff_client.post(url, changeform_data(staff_client.get(url)))
    assert response.status_code == 302
    assert audit_entries("tenant.change") == []


def test_tenant_search_by_owner_email_name_and_slug(staff_client, make_tenant):
    wanted = make_tenant(hub="au", name="Kiwi Fruit Traders", email="owner@kiwifruit.test").tenant
    make_tenant(hub="au", name="Other Company", email="someone@else.test")

    for term in ("owner@kiwifruit.test", "Kiwi Fruit", wanted.slug):
        response = staff_client.get("/admin/hubs/tenant/", {"q": term})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [wanted], term


def test_tenant_list_filtered_by_hub(staff_client, make_tenant):
    london = make_tenant(hub="uk").tenant
    sydney = make_tenant(hub="au").tenant

    response = staff_client.get("/admin/hubs/tenant/", {"hub__code__exact": "au"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [sydney]
    assert london not in response.context["cl"].result_list


def test_tenant_added_in_the_admin_needs_an_explicit_hub_and_is_provisioned(
    staff_client, django_capture_on_commit_callbacks
):
    page = staff_client.get("/admin/hubs/tenant/add/")
    hub_field = page.context["adminform"].form.fields["hub"]
    assert hub_field.required
    assert page.context["adminform"].form["hub"].value() in (None, "")
    no_hub = {
        "name": "Hubless",
        "slug": "hubless",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    assert staff_client.post("/admin/hubs/tenant/add/", no_hub).status_code == 200
    assert not Tenant.objects.filter(slug="hubless").exists()

    owner = User.objects.create_user(username="o@bay.test", email="o@bay.test", password=STAFF_PASSWORD)
    data = {
        "name": "Bay Logistics",
        "slug": "bay-logistics",
        "hub": "nz",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-user": str(owner.pk),
        "memberships-0-role": "owner",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/admin/hubs/tenant/add/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    tenant = Tenant.objects.get(slug="bay-logistics")
    assert tenant.hub_id == "nz"
    assert TenantClock.objects.for_tenant(tenant).exists()
    tenant.refresh_from_db()
    assert tenant.provisioned_at is not None
    [added] = audit_entries("tenant.add", target_id=str(tenant.pk))
    assert added.after["hub"] == "nz" and added.before is None
    [membership_added] = audit_entries("membership.add", tenant=tenant)
    assert membership_added.after["user"] == owner.pk
    assert membership_added.after["role"] == "owner"


def test_reserved_slug_is_a_form_error(staff_client):
    data = {"name": "Admin", "slug": "admin", "hub": "uk", "memberships-TOTAL_FORMS": "0"}
    data["memberships-INITIAL_FORMS"] = "0"
    response = staff_client.post("/admin/hubs/tenant/add/", data)
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert not Tenant.objects.filter(slug="admin").exists()


def test_tenants_cannot_be_deleted_from_the_admin(staff_client, make_tenant):
    tenant = make_tenant().tenant
    assert staff_client.post(f"/admin/hubs/tenant/{tenant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_provision_action_is_audited(staff_client, make_tenant):
    from conftest import unprovision

    tenant = make_tenant(hub="hk").tenant
    unprovision(tenant)

    response = staff_client.post(
        "/admin/hubs/tenant/", {"action": "provision_in_hub", "_selected_action": [str(tenant.pk)]}
    )

    assert response.status_code == 302
    assert TenantClock.objects.for_tenant(tenant).exists()
    [entry] = audit_entries("tenant.provision", tenant=tenant)
    assert entry.before["provisioned_at"] is None
    assert entry.after["provisioned_at"] is not None


# SECTION: users


def test_user_add_form_uses_the_email_as_username_and_is_audited(staff_client):
    data = {"email": "New.Person@Example.test", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    response = staff_client.post("/admin/portal/user/add/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.person@example.test")
    assert user.username == "new.person@example.test"
    assert user.check_password("a-long-pass-phrase")
    [entry] = audit_entries("user.add", target_id=str(user.pk), actor=staff_client.staff_user)
    assert entry.after["email"] == "new.person@example.test"
    assert "password" not in entry.after


def test_user_add_form_refuses_an_existing_email_and_a_weak_password(staff_client, make_tenant):
    owner = make_tenant().user
    data = {"email": owner.email.upper(), "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    response = staff_client.post("/admin/portal/user/add/", data)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors

    weak = {"email": "weak@example.test", "password1": "12345678", "password2": "12345678"}
    response = staff_client.post("/admin/portal/user/add/", weak)
    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="weak@example.test").exists()


def test_user_change_form_keeps_username_equal_to_email(staff_client, make_tenant):
    user = make_tenant().user
    url = f"/admin/portal/user/{user.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data["email"] = "Renamed@Example.test"

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.email == user.username == "renamed@example.test"
    [entry] = audit_entries("user.change", target_id=str(user.pk))
    assert entry.after["email"] == "renamed@example.test"
    assert entry.before["username"] != entry.after["username"]


def test_password_change_by_staff_is_audited_without_the_password(staff_client, make_tenant):
    user = make_tenant().user
    response = staff_client.post(
        f"/admin/portal/user/{user.pk}/password/",
        {"password1": "another-long-pass", "password2": "another-long-pass", "set_usable_password": "true"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-pass")
    [entry] = audit_entries("user.password_change", target_id=str(user.pk))
    assert "password" not in entry.before and "password" not in entry.after


# SECTION: two-factor devices


def test_device_admins_are_audited_and_keep_keys_out_of_the_log(staff_client, make_tenant):
    user = make_tenant().user
    device = AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    url = f"/admin/portal/authenticatordevice/{device.pk}/change/"
    page = staff_client.get(url)
    changeform_page = page.content.decode()
    data = changeform_data(page)
    data.pop("confirmed")  # an unticked checkbox is not posted

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    device.refresh_from_db()
    assert device.confirmed is False
    [entry] = audit_entries("authenticatordevice.change", target_id=str(device.pk))
    assert (entry.before["confirmed"], entry.after["confirmed"]) == (True, False)
    assert "sealed_key" not in entry.before and "sealed_key" not in entry.after
    logged = str(entry.before) + str(entry.after)
    assert device.sealed_key not in logged and device.bin_key.hex() not in logged
    assert device.sealed_key not in changeform_page, "staff never see the key, not even encrypted"

    response = staff_client.post(f"/admin/portal/authenticatordevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert len(audit_entries("authenticatordevice.delete", target_id=str(device.pk))) == 1


# SECTION: the audit log itself


def test_audit_log_is_read_only_filterable_and_searchable(staff_client, make_tenant):
    tenant = make_tenant().tenant
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data["name"] = "Renamed For Audit"
    staff_client.post(url, data)
    entry = StaffAuditEntry.objects.get(action="tenant.change")

    assert staff_client.get("/admin/hubs/staffauditentry/add/").status_code == 403
    detail = staff_client.get(f"/admin/hubs/staffauditentry/{entry.pk}/change/")
    assert detail.status_code == 200
    assert "Renamed For Audit" in detail.content.decode()
    assert not detail.context["has_change_permission"]
    staff_client.post(f"/admin/hubs/staffauditentry/{entry.pk}/change/", {"action": "forged"})
    entry.refresh_from_db()
    assert entry.action == "tenant.change"
    assert staff_client.post(f"/admin/hubs/staffauditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StaffAuditEntry.objects.filter(pk=entry.pk).exists()

    changelist = staff_client.get("/admin/hubs/staffauditentry/")
    assert "delete_selected" not in changelist.content.decode()
    by_action = staff_client.get("/admin/hubs/staffauditentry/", {"action__exact": "tenant.change"})
    assert list(by_action.context["cl"].result_list) == [entry]
    by_actor = staff_client.get("/admin/hubs/staffauditentry/", {"actor": "support@hubport.test"})
    assert entry in by_actor.context["cl"].result_list
    assert all(e.actor_email == "support@hubport.test" for e in by_actor.context["cl"].result_list)
    searched = staff_client.get("/admin/hubs/staffauditentry/", {"q": "Renamed For Audit"})
    assert list(searched.context["cl"].result_list) == [entry]


# SECTION: every page answers, and the audit entry shares the change's transaction


def test_every_registered_admin_page_answers(staff_client, make_tenant):
    from django.contrib import admin

    owner = make_tenant().user
    AuthenticatorDevice.objects.create(user=owner, name="phone", confirmed=True)
    BackupCodeDevice.objects.create(user=owner, name="backup", confirmed=True).codes.create(code_hash="0" * 64)
    StaffAuditEntry.objects.create(action="test.entry", target_type="x", target_id="1")
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert staff_client.get(base).status_code == 200, base
        assert staff_client.get(base, {"q": "x"}).status_code == 200, base
        add_status = staff_client.get(f"{base}add/").status_code
        assert add_status == (200 if model_admin.has_add_permission(_superuser_request()) else 403), base
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            assert staff_client.get(f"{base}{first.pk}/change/").status_code == 200, base


def _superuser_request() -> Any:
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return request


def test_a_failed_audit_write_rolls_the_change_back(staff_client, make_tenant, monkeypatch):
    tenant = make_tenant(name="Kept Name").tenant
    url = f"/admin/hubs/tenant/{tenant.pk}/change/"
    data = changeform_data(staff_client.get(url))
    data["name"] = "Lost Name"

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("portal.services.staff.audit_record", refuse)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        staff_client.post(url, data)

    tenant.refresh_from_db()
    assert tenant.name == "Kept Name"


def test_every_registered_admin_is_audited():
    from django.contrib import admin

    from portal.admin.audit import StaffAuditMixin

    unaudited = [m._meta.label for m, a in admin.site._registry.items() if not isinstance(a, StaffAuditMixin)]
    assert unaudited == []
