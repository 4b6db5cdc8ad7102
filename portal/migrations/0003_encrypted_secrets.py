"""Secrets at rest: authenticator keys encrypted, backup codes hashed.

Moves every django-otp TOTPDevice (plaintext hex key) into
portal.AuthenticatorDevice with its key encrypted under the newest
HUBPORT_ENCRYPTION_KEYS key, and every StaticDevice's StaticTokens (plaintext
codes) into a BackupCodeDevice holding only their keyed hashes, then deletes
the plaintext rows. Time steps, drift and throttling carry over, so a code used
just before the migration cannot be replayed after it. Sessions verified with
an old device ask for a code once more (the device's id names its model).

Backwards, keys are decrypted into TOTPDevice rows again; backup codes cannot
be (only their hashes remain), so a person makes new ones.
"""

from binascii import hexlify, unhexlify

import django.db.models.deletion
import portal.security.encryption
from django.conf import settings
from django.db import migrations, models


DEVICE_FIELDS = ("user_id", "name", "confirmed", "throttling_failure_timestamp", "throttling_failure_count", "last_used_at")
TOTP_FIELDS = ("step", "t0", "digits", "tolerance", "drift", "last_t")
# Rows per query: a control plane with 100,000 people moves in 50 rounds.
BATCH = 2_000


def secrets_seal(apps, schema_editor):
    from portal.security.encryption import backup_code_hash, new_backup_hash_key_sealed, secret_decrypt, secret_encrypt

    alias = schema_editor.connection.alias
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    AuthenticatorDevice = apps.get_model("portal", "AuthenticatorDevice")
    BackupCodeDevice = apps.get_model("portal", "BackupCodeDevice")
    BackupCode = apps.get_model("portal", "BackupCode")

    while batch := list(TOTPDevice.objects.using(alias).order_by("pk")[:BATCH]):
        for old in batch:
            new = AuthenticatorDevice.objects.using(alias).create(
                sealed_key=secret_encrypt(unhexlify(old.key.encode())),
                **{name: getattr(old, name) for name in DEVICE_FIELDS + TOTP_FIELDS},
            )
            # auto_now_add set it to now; keep when the device was really made.
            AuthenticatorDevice.objects.using(alias).filter(pk=new.pk).update(created_at=old.created_at)
        TOTPDevice.objects.using(alias).filter(pk__in=[old.pk for old in batch]).delete()

    while batch := list(StaticDevice.objects.using(alias).order_by("pk")[:BATCH]):
        for old in batch:
            new = BackupCodeDevice.objects.using(alias).create(
                sealed_hash_key=new_backup_hash_key_sealed(),
                **{name: getattr(old, name) for name in DEVICE_FIELDS},
            )
            BackupCodeDevice.objects.using(alias).filter(pk=new.pk).update(created_at=old.created_at)
            hash_key = secret_decrypt(new.sealed_hash_key)
            codes = {token.lower() for token in StaticToken.objects.using(alias).filter(device_id=old.pk).values_list("token", flat=True)}
            BackupCode.objects.using(alias).bulk_create(
                [BackupCode(device_id=new.pk, code_hash=backup_code_hash(hash_key=hash_key, code=code)) for code in sorted(codes)]
            )
        StaticToken.objects.using(alias).filter(device_id__in=[old.pk for old in batch]).delete()
        StaticDevice.objects.using(alias).filter(pk__in=[old.pk for old in batch]).delete()


def secrets_unseal(apps, schema_editor):
    from portal.security.encryption import secret_decrypt

    alias = schema_editor.connection.alias
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorDevice = apps.get_model("portal", "AuthenticatorDevice")
    for new in AuthenticatorDevice.objects.using(alias).order_by("pk").iterator(chunk_size=BATCH):
        TOTPDevice.objects.using(alias).create(
            key=hexlify(secret_decrypt(new.sealed_key)).decode("ascii"),
            created_at=new.created_at,
            **{name: getattr(new, name) for name in DEVICE_FIELDS + TOTP_FIELDS},
        )


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0002_user_time_zone'),
        # Their historical models are read here; both apps stay installed for that.
        ('otp_totp', '0003_add_timestamps'),
        ('otp_static', '0003_add_timestamps'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuthenticatorDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('sealed_key', models.TextField(default=portal.security.encryption.new_totp_key_sealed, help_text='The TOTP key, encrypted under HUBPORT_ENCRYPTION_KEYS.')),
                ('step', models.PositiveSmallIntegerField(default=30, help_text='The time step in seconds.')),
                ('t0', models.BigIntegerField(default=0, help_text='The Unix time at which to begin counting steps.')),
                ('digits', models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                ('tolerance', models.PositiveSmallIntegerField(default=1, help_text='The number of time steps in the past or future to allow.')),
                ('drift', models.SmallIntegerField(default=0, help_text='The number of time steps the prover is known to deviate from our clock.')),
                ('last_t', models.BigIntegerField(default=-1, help_text='The time step of the last verified code; the next must be later.')),
                ('user', models.ForeignKey(help_text='The user that this device belongs to.', on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'authenticator app',
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='BackupCodeDevice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('sealed_hash_key', models.TextField(default=portal.security.encryption.new_backup_hash_key_sealed, help_text='The key the codes are hashed with, encrypted under HUBPORT_ENCRYPTION_KEYS.')),
                ('user', models.ForeignKey(help_text='The user that this device belongs to.', on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'backup codes',
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='BackupCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code_hash', models.CharField(max_length=64)),
                ('device', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='codes', to='portal.backupcodedevice')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('device', 'code_hash'), name='backup_code_unique_per_device')],
            },
        ),
        migrations.RunPython(secrets_seal, secrets_unseal),
    ]
