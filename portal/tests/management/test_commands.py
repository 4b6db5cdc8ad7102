"""Management commands for support staff and scripts: create_tenant, create_staff."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from conftest import all_databases
from hubs.models import Membership, Tenant
from portal.models import AuthenticatorDevice, User
from snapshots.models import TenantClock

pytestmark = all_databases

GOOD_PASSWORD = "correct horse battery"


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Tenant.objects.count(), Membership.objects.count()


# SECTION: create_tenant


def test_create_tenant_prints_only_the_slug_and_provisions_the_hub():
    stdout, _ = run(
        "create_tenant", "--name", "Harbour Freight", "--hub", "au", "--owner", "Boss@Harbour.test",
        "--password", GOOD_PASSWORD,
    )  # fmt: skip

    assert stdout == "harbour-freight\n"
    tenant = Tenant.objects.get(slug="harbour-freight")
    assert tenant.hub_id == "au"
    assert TenantClock.objects.for_tenant(tenant).exists()
    membership = Membership.objects.get(tenant=tenant)
    assert membership.role == "owner"
    assert membership.user.email == "boss@harbour.test"
    assert membership.user.check_password(GOOD_PASSWORD)


def test_create_tenant_takes_an_explicit_slug():
    stdout, _ = run(
        "create_tenant", "--name", "Harbour Freight", "--hub", "nz", "--owner", "a@b.test",
        "--password", GOOD_PASSWORD, "--slug", "hf-nz",
    )  # fmt: skip
    assert stdout.strip() == "hf-nz"
    assert TenantClock.objects.for_tenant(Tenant.objects.get(slug="hf-nz")).exists()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"--hub": "zz"}, "hub: There is no hub 'zz'"),
        ({"--owner": "taken@example.test"}, "email: An account with this email address already exists"),
        ({"--password": "12345"}, "password: This password is too short"),
        ({"--slug": "taken-slug"}, "slug: The address 'taken-slug' is taken"),
        ({"--slug": "admin"}, "slug: The address 'admin' is taken"),
        ({"--slug": "Not a slug!"}, "slug: Enter a valid"),
        ({"--name": "  "}, "company_name"),
    ],
)
def test_create_tenant_refuses_bad_input_and_creates_nothing(make_tenant, overrides, reason):
    make_tenant(email="taken@example.test")
    Tenant.objects.filter().update(slug="taken-slug")
    before = counts()
    options = {"--name": "New Co", "--hub": "uk", "--owner": "new@example.test", "--password": GOOD_PASSWORD}
    options.update(overrides)
    args = [item for pair in options.items() for item in pair]

    with pytest.raises(CommandError) as excinfo:
        run("create_tenant", *args)

    assert reason in str(excinfo.value)
    assert counts() == before


def test_create_tenant_reports_every_reason_and_exits_non_zero_from_the_command_line(capsys, monkeypatch):
    from django.db import connections

    # run_from_argv closes every connection when it ends; the test still needs them.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    before = counts()
    utility = ManagementUtility(
        ["manage.py", "create_tenant", "--name", "X", "--hub", "zz", "--owner", "x@y.test", "--password", "123"]
    )

    with pytest.raises(SystemExit) as excinfo:
        utility.execute()

    assert excinfo.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "hub: There is no hub 'zz'" in captured.err
    assert "password:" in captured.err
    assert counts() == before


# SECTION: create_staff


def test_create_staff_makes_a_staff_user_with_a_confirmed_device_and_is_idempotent():
    first, _ = run("create_staff", "--email", "Ops@Hubport.test", "--password", "a-long-staff-pass")

    user = User.objects.get(email="ops@hubport.test")
    assert user.username == "ops@hubport.test"
    assert user.is_staff and not user.is_superuser
    assert user.check_password("a-long-staff-pass")
    device = AuthenticatorDevice.objects.get(user=user)
    assert device.confirmed
    assert first.strip() == device.config_url
    assert first.startswith("otpauth://totp/Hubport%3Aops%40hubport.test?secret=")

    second, note = run("create_staff", "--email", "ops@hubport.test", "--password", "something-else-entirely")

    assert second == first
    assert "already exists" in note
    assert User.objects.filter(email="ops@hubport.test").count() == 1
    assert AuthenticatorDevice.objects.filter(user=user).count() == 1
    user.refresh_from_db()
    assert user.check_password("a-long-staff-pass"), "a re-run does not reset the password"


def test_create_staff_superuser_upgrades_an_existing_staff_user():
    run("create_staff", "--email", "lead@hubport.test", "--password", "a-long-staff-pass")
    run("create_staff", "--email", "lead@hubport.test", "--password", "a-long-staff-pass", "--superuser")
    assert User.objects.get(email="lead@hubport.test").is_superuser
    assert AuthenticatorDevice.objects.filter(user__email="lead@hubport.test").count() == 1


def test_create_staff_refuses_a_weak_password_and_a_bad_email():
    with pytest.raises(CommandError, match="password"):
        run("create_staff", "--email", "weak@hubport.test", "--password", "123")
    with pytest.raises(CommandError, match="email"):
        run("create_staff", "--email", "not-an-email", "--password", "a-long-staff-pass")
    assert not User.objects.exists()
