"""Writes of a person's own settings.

A person's display preferences are theirs alone: they change no workspace,
no file and no staff-visible setting, so nothing goes to the staff audit log
(which records staff actions) or to a workspace's activity log (which records
changes to its files).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import router, transaction

from portal.models import User
from portal.selectors import time_zone_names


def user_time_zone_set(*, user: User, time_zone: str) -> User:
    """Set the zone every page shows ``user`` times in: an IANA zone name, or
    blank for their workspace hub's."""
    if time_zone and time_zone not in time_zone_names():
        raise ValidationError(
            {"time_zone": f"{time_zone!r} is not an IANA time zone this server knows, e.g. Asia/Tokyo."},
            code="invalid_time_zone",
        )
    with transaction.atomic(using=router.db_for_write(User)):
        # Saved even when the value in memory already matches: the row may differ.
        user.time_zone = time_zone
        user.save(update_fields=["time_zone"])
    return user
