"""Secrets at rest: TOTP keys and the backup codes' hashing keys, encrypted with
the keys in ``HUBPORT_ENCRYPTION_KEYS`` (newest first).

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) seals each secret;
MultiFernet opens a token sealed under any configured key and ``rotate()``
seals it again under the newest, so a key can be replaced without a moment when
stored secrets cannot be read: add the new key first in the list, run
``manage.py secrets_reencrypt``, then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# RFC 6238 recommends a key as long as the HMAC's output: 20 bytes for SHA-1,
# as django-otp's TOTPDevice makes them.
TOTP_KEY_BYTES = 20
# The key each person's backup codes are hashed with (HMAC-SHA256).
BACKUP_HASH_KEY_BYTES = 32


class SecretUnreadable(Exception):
    """A stored secret is sealed under none of the configured keys (or was altered)."""


def development_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY, for the embedded default and the
    tests only: production must give HUBPORT_ENCRYPTION_KEYS, so that a leaked
    SECRET_KEY (which signs cookies seen by every browser) does not also open
    the stored TOTP keys, and so that each can rotate on its own."""
    digest = hashlib.sha256(b"hubport encryption key v1:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def keys_check(keys: Sequence[str]) -> list[str]:
    """The keys, stripped, each checked to be a Fernet key; ImproperlyConfigured
    naming the position (never the value) of a bad one."""
    cleaned = [key.strip() for key in keys if key.strip()]
    if not cleaned:
        raise ImproperlyConfigured("HUBPORT_ENCRYPTION_KEYS is empty: give at least one key.")
    for position, key in enumerate(cleaned, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"HUBPORT_ENCRYPTION_KEYS: key {position} of {len(cleaned)} is not a Fernet key "
                "(32 bytes in URL-safe base64, 44 characters; make one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).'
            ) from None
    return cleaned


@lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    checked = keys_check(keys)
    return MultiFernet([Fernet(key) for key in checked]), Fernet(checked[0])


def _configured() -> tuple[MultiFernet, Fernet]:
    # Keyed on the setting's value, so tests that override it see their keys.
    return _fernets(tuple(settings.HUBPORT_ENCRYPTION_KEYS))


def secret_encrypt(plaintext: bytes) -> str:
    """``plaintext`` sealed under the newest key, as text for a database column."""
    return _configured()[0].encrypt(plaintext).decode("ascii")


def secret_decrypt(sealed: str) -> bytes:
    try:
        return _configured()[0].decrypt(sealed.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise SecretUnreadable("sealed under none of HUBPORT_ENCRYPTION_KEYS, or altered") from None


def secret_is_current(sealed: str) -> bool:
    """True when the newest key alone opens ``sealed``."""
    try:
        _configured()[1].decrypt(sealed.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


def secret_reencrypt(sealed: str) -> str:
    """``sealed`` sealed again under the newest key (SecretUnreadable if no key opens it)."""
    try:
        return _configured()[0].rotate(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise SecretUnreadable("sealed under none of HUBPORT_ENCRYPTION_KEYS, or altered") from None


def new_totp_key_sealed() -> str:
    """A fresh random TOTP key, sealed: the default of ``AuthenticatorDevice.sealed_key``."""
    return secret_encrypt(os.urandom(TOTP_KEY_BYTES))


def new_backup_hash_key_sealed() -> str:
    """A fresh random backup-code hashing key, sealed: the default of ``BackupCodeDevice.sealed_hash_key``."""
    return secret_encrypt(os.urandom(BACKUP_HASH_KEY_BYTES))


def backup_code_hash(*, hash_key: bytes, code: str) -> str:
    """HMAC-SHA256 of a normalised backup code under the person's own hashing key.

    A backup code has 40 bits (8 base32 characters), so an unkeyed fast hash
    falls to an offline search of 2^40 in hours; keyed with a secret that is
    itself encrypted under HUBPORT_ENCRYPTION_KEYS, a copy of the database alone
    gives nothing to search. A slow password hash (PBKDF2) would need ten slow
    checks per attempt (a salted hash cannot be looked up), seconds per sign-in.
    """
    return hmac.new(hash_key, code.encode("utf-8"), hashlib.sha256).hexdigest()
