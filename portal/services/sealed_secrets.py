"""Re-encrypting the secrets sealed under HUBPORT_ENCRYPTION_KEYS
(``portal.security.encryption``) under the newest key, for key rotation:
``manage.py secrets_reencrypt`` calls these."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import models, transaction

from portal.models import AuthenticatorDevice, BackupCodeDevice
from portal.security.encryption import SecretUnreadable, secret_is_current, secret_reencrypt

# Each kind of row and its sealed column, with the words a report uses for it.
SEALED_COLUMNS: tuple[tuple[type[models.Model], str, str], ...] = (
    (AuthenticatorDevice, "sealed_key", "authenticator app keys"),
    (BackupCodeDevice, "sealed_hash_key", "backup-code hashing keys"),
)
# Rows locked per transaction: a killed run loses at most one batch's work,
# and sign-ins wait on at most that many row locks.
DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class UnreadableSecret:
    """A row no configured key opens: its secret cannot be re-encrypted or used."""

    label: str
    device_id: int
    user_id: int

    def message(self) -> str:
        return (
            f"{self.label}: device {self.device_id} (user {self.user_id}) is encrypted under none of "
            "HUBPORT_ENCRYPTION_KEYS. Put back the key that encrypted it, or the person must set up "
            "two-factor again (they are told so at sign-in)."
        )


@dataclass
class SealedCount:
    """Rows of one kind: how many, and how many the newest key does not open."""

    label: str
    examined: int = 0
    current: int = 0
    reencrypted: int = 0
    unreadable: list[UnreadableSecret] = field(default_factory=list)

    @property
    def not_current(self) -> int:
        return self.examined - self.current


def _batches(model: type[models.Model], batch_size: int) -> Iterator[list[models.Model]]:
    """The rows of ``model`` in primary-key order, one locked batch at a time."""
    last_pk = 0
    while True:
        with transaction.atomic(using="default"):
            rows = list(model._default_manager.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:batch_size])
            if not rows:
                return
            yield rows
        last_pk = rows[-1].pk


def _sealed_walk(
    *, write: bool, batch_size: int, progress: Callable[[SealedCount], None] | None = None
) -> list[SealedCount]:
    """Every sealed secret, batch by batch: counted current, unreadable, or (when
    ``write``) sealed again under the newest key."""
    counts = []
    for model, column, label in SEALED_COLUMNS:
        count = SealedCount(label=label)
        for rows in _batches(model, batch_size):
            for row in rows:
                count.examined += 1
                sealed = getattr(row, column)
                if secret_is_current(sealed):
                    count.current += 1
                    continue
                try:
                    resealed = secret_reencrypt(sealed)
                except SecretUnreadable:
                    count.unreadable.append(
                        UnreadableSecret(label=label, device_id=row.pk, user_id=row.user_id)  # type: ignore[attr-defined]
                    )
                    continue
                if write:
                    model._default_manager.filter(pk=row.pk).update(**{column: resealed})
                    count.reencrypted += 1
            if progress is not None:
                progress(count)
        counts.append(count)
    return counts


def sealed_secrets_reencrypt(
    *, batch_size: int = DEFAULT_BATCH_SIZE, progress: Callable[[SealedCount], None] | None = None
) -> list[SealedCount]:
    """Every sealed secret not already under the newest key, sealed again under it.

    Idempotent: a row the newest key opens is left alone, so a second run
    changes nothing. A row no key opens is counted as unreadable and left as it
    is. ``progress`` is called after each batch with the running count.
    """
    return _sealed_walk(write=True, batch_size=batch_size, progress=progress)


def sealed_secrets_status(*, batch_size: int = DEFAULT_BATCH_SIZE) -> list[SealedCount]:
    """How many sealed secrets of each kind the newest key does not open, and
    which of those no key opens; changes nothing."""
    return _sealed_walk(write=False, batch_size=batch_size)
