"""Rotating HUBPORT_ENCRYPTION_KEYS: a new key first, ``secrets_reencrypt``,
the old key removed, and people still sign in with their app and backup codes.
A secret under no configured key is named by device id, and its owner is told
what to do at sign-in, never shown a 500."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.models import AuthenticatorDevice, BackupCodeDevice
from portal.security.encryption import secret_decrypt, secret_is_current
from portal.tests.views.test_two_factor import PASSWORD, T0, code_for, enrol, is_signed_in, password_step
from portal.two_factor import UNREADABLE_BACKUP_MESSAGE, UNREADABLE_KEY_MESSAGE

pytestmark = all_databases

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
STRANGER_KEY = Fernet.generate_key().decode()


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("secrets_reencrypt", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def people(make_tenant, settings):
    """Three people enrolled under OLD_KEY, the only key at the time."""
    settings.HUBPORT_ENCRYPTION_KEYS = [OLD_KEY]
    enrolled = []
    for _ in range(3):
        user = make_tenant(password=PASSWORD).user
        device, backup_codes = enrol(user)
        enrolled.append((user, device, backup_codes))
    return enrolled


def test_rotation_reencrypts_under_the_new_key_and_codes_verify_after_the_old_key_is_gone(
    client: Client, settings, people
) -> None:
    before = {device.pk: device.sealed_key for _, device, _ in people}
    settings.HUBPORT_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    with pytest.raises(CommandError, match="not under the newest key"):
        run("--check")
    out, _ = run("--batch-size", "2")
    assert "authenticator app keys: 2 examined so far, 2 re-encrypted" in out, "reports as it goes, in batches"
    assert "authenticator app keys: done, 3 examined, 3 re-encrypted, 0 already under the newest key" in out
    assert "backup-code hashing keys: done, 3 examined, 3 re-encrypted" in out
    for _, device, _ in people:
        device.refresh_from_db()
        assert device.sealed_key != before[device.pk] and secret_is_current(device.sealed_key)

    again, _ = run()
    assert "authenticator app keys: done, 3 examined, 0 re-encrypted, 3 already under the newest key" in again
    checked, _ = run("--check")
    assert "authenticator app keys: 3 stored, 0 not under the newest key" in checked

    settings.HUBPORT_ENCRYPTION_KEYS = [NEW_KEY]
    user, device, backup_codes = people[0]
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, user)
        response = client.post(reverse("login_code"), {"code": code_for(device)})
        assert response.status_code == 302 and is_signed_in(client)
        client.post(reverse("logout"))
    other, _, other_codes = people[1]
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        password_step(client, other)
        assert client.post(reverse("login_code"), {"code": other_codes[0]}).status_code == 302
        assert is_signed_in(client)


def test_removing_the_old_key_before_reencrypting_is_caught_by_check_and_named(
    client: Client, settings, people
) -> None:
    user, device, backup_codes = people[0]
    settings.HUBPORT_ENCRYPTION_KEYS = [STRANGER_KEY]

    with pytest.raises(CommandError, match=r"6 secret\(s\) are encrypted under none of HUBPORT_ENCRYPTION_KEYS"):
        run("--check")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("secrets_reencrypt", stdout=StringIO(), stderr=err)
    assert f"authenticator app keys: device {device.pk} (user {user.pk}) is encrypted under none of" in err.getvalue()
    backup_device = BackupCodeDevice.objects.get(user=user)
    assert f"backup-code hashing keys: device {backup_device.pk} (user {user.pk})" in err.getvalue()
    device.refresh_from_db()
    settings.HUBPORT_ENCRYPTION_KEYS = [OLD_KEY]
    assert secret_decrypt(device.sealed_key) == device.bin_key, "an unreadable row is left as it was"


def test_a_sign_in_with_an_unreadable_key_tells_the_person_what_to_do(client: Client, settings, people) -> None:
    user, device, backup_codes = people[0]
    settings.HUBPORT_ENCRYPTION_KEYS = [OLD_KEY]
    code = code_for(device)
    settings.HUBPORT_ENCRYPTION_KEYS = [STRANGER_KEY]
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, user)
        response = client.post(reverse("login_code"), {"code": code})
    assert response.status_code == 200
    assert UNREADABLE_KEY_MESSAGE in response.content.decode()
    assert not is_signed_in(client)
    assert AuthenticatorDevice.objects.filter(pk=device.pk).exists()
    # The admin's sign-in form checks the same device: refused, not a 500.
    assert not AuthenticatorDevice.objects.get(pk=device.pk).verify_token(code)
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        backup = client.post(reverse("login_code"), {"code": backup_codes[0]})
    assert backup.status_code == 200 and UNREADABLE_BACKUP_MESSAGE in backup.content.decode()
    assert not is_signed_in(client)


def test_a_person_whose_app_key_is_lost_signs_in_with_a_backup_code_and_sets_up_again(
    client: Client, settings, people
) -> None:
    """The app's key is under a removed key, the backup codes are not (a key
    restored only in part): the way the message points to works."""
    user, device, backup_codes = people[0]
    settings.HUBPORT_ENCRYPTION_KEYS = [STRANGER_KEY]
    AuthenticatorDevice.objects.filter(pk=device.pk).update(
        sealed_key=Fernet(STRANGER_KEY.encode()).encrypt(b"x" * 20).decode()[:-4] + "AAAA"
    )
    settings.HUBPORT_ENCRYPTION_KEYS = [STRANGER_KEY, OLD_KEY]
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, user)
        refused = client.post(reverse("login_code"), {"code": "123456"})
        assert UNREADABLE_KEY_MESSAGE in refused.content.decode()
        assert client.post(reverse("login_code"), {"code": backup_codes[0]}).status_code == 302
        overview = client.get(reverse("two_factor")).content.decode()
        assert "This app can no longer be checked here" in overview
        assert client.get(reverse("two_factor_setup")).status_code == 200
        fresh = AuthenticatorDevice.objects.get(user=user, confirmed=False)
        done = client.post(reverse("two_factor_setup"), {"device_id": fresh.pk, "code": code_for(fresh)})
        assert done.status_code == 302
    assert list(AuthenticatorDevice.objects.filter(user=user).values_list("pk", flat=True)) == [fresh.pk]
    assert "This app can no longer be checked here" not in client.get(reverse("two_factor")).content.decode()


def test_set_up_and_new_backup_codes_work_when_the_old_key_is_gone(client: Client, settings, people) -> None:
    """A set-up page left open, and backup codes, from before the old key was
    removed without re-encrypting: a fresh secret and fresh codes, no 500."""
    user, device, _ = people[0]
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        password_step(client, user)
        assert client.post(reverse("login_code"), {"code": code_for(device)}).status_code == 302
        assert client.get(reverse("two_factor_setup")).status_code == 200
        stale = AuthenticatorDevice.objects.get(user=user, confirmed=False)
    settings.HUBPORT_ENCRYPTION_KEYS = [NEW_KEY]
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        assert client.get(reverse("two_factor_setup")).status_code == 200
        fresh = AuthenticatorDevice.objects.get(user=user, confirmed=False)
        assert fresh.pk != stale.pk and secret_is_current(fresh.sealed_key)
        assert client.post(reverse("two_factor_backup_codes")).status_code == 302
        codes = client.get(reverse("two_factor_backup_codes")).context["codes"]
        assert secret_is_current(BackupCodeDevice.objects.get(user=user).sealed_hash_key)
        done = client.post(reverse("two_factor_setup"), {"device_id": fresh.pk, "code": code_for(fresh)})
        assert done.status_code == 302
        client.post(reverse("logout"))
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        password_step(client, user)
        assert client.post(reverse("login_code"), {"code": codes[0]}).status_code == 302
        assert is_signed_in(client)
