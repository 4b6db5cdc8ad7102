"""Re-encrypt every stored two-factor secret under the newest of
HUBPORT_ENCRYPTION_KEYS, after a new key was put first in the list.

Idempotent and in batches: run it again after an interruption. ``--check``
changes nothing and exits 1 while any secret is not under the newest key (for
a deploy step before the old key is removed). Either way, a secret no key opens
is named by device id and the command exits 1.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.services.sealed_secrets import (
    DEFAULT_BATCH_SIZE,
    SealedCount,
    sealed_secrets_reencrypt,
    sealed_secrets_status,
)


class Command(BaseCommand):
    help = "Re-encrypt TOTP keys and backup-code hashing keys under the newest HUBPORT_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; report how many secrets are not under the newest key and exit 1 if any are.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows locked and re-encrypted per transaction."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["check"]:
            counts = sealed_secrets_status(batch_size=batch_size)
            for count in counts:
                self.stdout.write(
                    f"{count.label}: {count.examined} stored, {count.not_current} not under the newest key"
                    + (f" ({len(count.unreadable)} under no configured key)" if count.unreadable else "")
                )
        else:
            counts = sealed_secrets_reencrypt(batch_size=batch_size, progress=self._progress)
            for count in counts:
                self.stdout.write(
                    f"{count.label}: done, {count.examined} examined, {count.reencrypted} re-encrypted, "
                    f"{count.current} already under the newest key"
                )
        unreadable = [item for count in counts for item in count.unreadable]
        for item in unreadable:
            self.stderr.write(item.message())
        if unreadable:
            raise CommandError(f"{len(unreadable)} secret(s) are encrypted under none of HUBPORT_ENCRYPTION_KEYS.")
        if options["check"] and any(count.not_current for count in counts):
            raise CommandError(
                "Some secrets are not under the newest key: run manage.py secrets_reencrypt before removing an old key."
            )
        if options["check"]:
            self.stdout.write(self.style.SUCCESS("Every secret is under the newest key."))

    def _progress(self, count: SealedCount) -> None:
        self.stdout.write(
            f"{count.label}: {count.examined} examined so far, {count.reencrypted} re-encrypted, "
            f"{count.current} already under the newest key, {len(count.unreadable)} unreadable"
        )
