"""Secrets at rest: what HUBPORT_ENCRYPTION_KEYS seals opens again, a TOTP key
sealed in a device still gives the codes an app shows, and nobody else's."""

from __future__ import annotations

from base64 import b32encode
from datetime import UTC, datetime

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django_otp.oath import totp
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from hubs.tests.windows import person
from portal.models import AuthenticatorDevice, BackupCodeDevice, User
from portal.security.encryption import (
    SecretUnreadable,
    backup_code_hash,
    development_key,
    keys_check,
    secret_decrypt,
    secret_encrypt,
    secret_is_current,
    secret_reencrypt,
)

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
# 2001 to 2100: any moment an app might be asked for a code.
moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
secrets_ = st.binary(min_size=10, max_size=40)


@examples(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=256))
def test_what_is_sealed_opens_again_and_is_not_readable_as_it_was(plaintext):
    sealed = secret_encrypt(plaintext)
    assert secret_decrypt(sealed) == plaintext
    assert secret_is_current(sealed)
    if len(plaintext) >= 8:
        assert plaintext.hex() not in sealed and b32encode(plaintext).decode() not in sealed


@examples(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.binary(max_size=64))
def test_a_rotated_key_still_opens_old_secrets_and_rotate_moves_them_to_the_newest(plaintext, settings):
    settings.HUBPORT_ENCRYPTION_KEYS = [OLD_KEY]
    sealed = secret_encrypt(plaintext)
    settings.HUBPORT_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert secret_decrypt(sealed) == plaintext and not secret_is_current(sealed)
    resealed = secret_reencrypt(sealed)
    assert secret_is_current(resealed)
    settings.HUBPORT_ENCRYPTION_KEYS = [NEW_KEY]
    assert secret_decrypt(resealed) == plaintext
    with pytest.raises(SecretUnreadable):
        secret_decrypt(sealed)


@pytest.mark.django_db
@examples(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secrets_, other=secrets_, moment=moments)
def test_a_sealed_totp_key_verifies_its_own_codes_and_no_other_secrets(secret, other, moment):
    user = User.objects.filter(email="prop@example.test").first() or person("prop@example.test")
    with time_machine.travel(moment, tick=False):
        device = AuthenticatorDevice.objects.create(user=user, name="phone", sealed_key=secret_encrypt(secret))
        assert device.bin_key == secret
        stored = AuthenticatorDevice.objects.get(pk=device.pk)
        assert secret.hex() not in stored.sealed_key
        right = totp(secret, step=30, t0=0, digits=6)
        wrong = totp(other, step=30, t0=0, digits=6)
        # Codes of another secret that happen to match one of the three accepted steps are no test.
        assume(
            other != secret and all(wrong != totp(secret, step=30, t0=0, digits=6, drift=drift) for drift in (-1, 0, 1))
        )
        assert not stored.verify_token(f"{wrong:06d}")
        assert stored.verify_token(f"{right:06d}")
        assert not stored.verify_token(f"{right:06d}"), "a code is never accepted twice"
    AuthenticatorDevice.objects.filter(pk=device.pk).delete()


@pytest.mark.django_db
def test_the_otpauth_url_carries_the_decrypted_secret():
    user = person("url@example.test")
    secret = bytes(range(20))
    device = AuthenticatorDevice.objects.create(user=user, name="phone", sealed_key=secret_encrypt(secret))
    assert device.config_url.startswith("otpauth://totp/Hubport%3Aurl%40example.test?secret=")
    assert f"secret={b32encode(secret).decode()}" in device.config_url
    assert "issuer=Hubport" in device.config_url


@pytest.mark.django_db
def test_backup_codes_are_hashed_with_the_persons_own_key():
    first = BackupCodeDevice.objects.create(user=person("a@example.test"), name="codes")
    second = BackupCodeDevice.objects.create(user=person("b@example.test"), name="codes")
    assert first.code_hash("abcdefgh") != second.code_hash("abcdefgh"), "one hash never fits two people"
    assert first.code_hash("abcdefgh") == first.code_hash("abcdefgh")
    assert len(first.code_hash("abcdefgh")) == 64 and "abcdefgh" not in first.code_hash("abcdefgh")
    assert backup_code_hash(hash_key=b"k" * 32, code="x") != backup_code_hash(hash_key=b"j" * 32, code="x")


def test_the_development_key_is_derived_from_the_secret_key_and_is_a_valid_key():
    assert development_key("one") == development_key("one") != development_key("two")
    assert keys_check([development_key("one")]) == [development_key("one")]


@pytest.mark.parametrize(
    ("keys", "position"),
    [(["nonsense"], "key 1 of 1"), ([NEW_KEY, "x" * 44], "key 2 of 2"), ([NEW_KEY[:-2]], "key 1 of 1")],
)
def test_bad_key_material_is_a_clear_configuration_error(keys, position):
    with pytest.raises(ImproperlyConfigured) as caught:
        keys_check(keys)
    assert f"HUBPORT_ENCRYPTION_KEYS: {position} is not a Fernet key" in str(caught.value)
    assert keys[-1] not in str(caught.value)


def test_no_keys_at_all_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="HUBPORT_ENCRYPTION_KEYS is empty"):
        keys_check([" ", ""])
