"""Migration portal 0003 on a database holding django-otp's plaintext rows:
afterwards the same codes work, and neither a TOTP key (in hex or base32) nor
a backup code is anywhere in the database, in any table's text."""

from __future__ import annotations

from base64 import b32encode
from binascii import hexlify

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_otp.oath import totp

from portal.models import AuthenticatorDevice, BackupCode, BackupCodeDevice
from portal.tests.views.test_two_factor import T0

BEFORE = [("portal", "0002_user_time_zone"), ("otp_totp", "0003_add_timestamps"), ("otp_static", "0003_add_timestamps")]
KEY = bytes.fromhex("3132333435363738393031323334353637383930") + b"\x9a\xbc\xde\xf0"
CODES = ["abcdefgh", "zyxw2345", "mnop6767"]


def every_text_in_the_database() -> str:
    """Every row of every table on the control database, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - names from the database's own catalogue
            chunks.extend(" ".join(str(value) for value in row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db(transaction=True)
def test_plaintext_secrets_are_moved_encrypted_and_none_remains():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("portal", "User").objects.create(username="m@example.test", email="m@example.test")
    totp_device = old.get_model("otp_totp", "TOTPDevice").objects.create(
        user_id=user.pk, name="Authenticator app", confirmed=True, key=hexlify(KEY).decode(), last_t=123, drift=1
    )
    static = old.get_model("otp_static", "StaticDevice").objects.create(user_id=user.pk, name="Backup codes")
    for code in CODES:
        old.get_model("otp_static", "StaticToken").objects.create(device_id=static.pk, token=code)
    text = every_text_in_the_database()
    assert hexlify(KEY).decode() in text and CODES[0] in text, "the search finds plaintext where it is"

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    text = every_text_in_the_database()
    for secret in (hexlify(KEY).decode(), hexlify(KEY).decode().upper(), b32encode(KEY).decode().rstrip("=")):
        assert secret not in text
    for code in CODES:
        assert code not in text and code.upper() not in text
    device = AuthenticatorDevice.objects.get(user_id=user.pk)
    assert device.bin_key == KEY
    assert (device.name, device.confirmed, device.last_t, device.drift) == ("Authenticator app", True, 123, 1)
    with time_machine.travel(T0, tick=False):
        assert device.verify_token(f"{totp(KEY, drift=1):06d}")
    backup = BackupCodeDevice.objects.get(user_id=user.pk)
    assert BackupCode.objects.filter(device=backup).count() == 3
    assert backup.verify_token("zyxw2345") and not backup.verify_token("zyxw2345")
    assert not backup.verify_token("qqqqqqqq")
    with connection.cursor() as cursor:
        for table in ("otp_totp_totpdevice", "otp_static_statictoken", "otp_static_staticdevice"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed names
            assert cursor.fetchone() == (0,), table
    assert totp_device.pk  # the old row existed and is gone (counted above)
