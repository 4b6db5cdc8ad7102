"""One storage per hub facility, built from settings.HUB_STORAGE_URLS.

URL forms (one environment variable per facility, see README):
- ``file:///srv/hubport/uk/primary``: a folder (the embedded default).
- ``s3://bucket-name?endpoint_url=https://...&region_name=...&access_key=...&secret_key=...``:
  an S3-compatible bucket through django-storages; without keys boto3's own
  credential chain is used.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage

if TYPE_CHECKING:
    from hubs.models import Facility


def facility_storage_alias(hub_code: str, role: str) -> str:
    if hub_code not in settings.HUB_CODES or role not in settings.FACILITY_ROLES:
        raise ValueError(f"Unknown facility {hub_code}/{role}")
    return f"hub_{hub_code}_{role}"


def storage_from_url(url: str) -> Storage:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileSystemStorage(location=unquote(parts.path), base_url=None)
    if parts.scheme == "s3":
        from storages.backends.s3 import S3Storage

        options = dict(parse_qsl(parts.query))
        return S3Storage(
            bucket_name=parts.netloc,
            location=parts.path.lstrip("/"),
            default_acl=None,
            querystring_auth=True,
            file_overwrite=True,
            **options,
        )
    raise ImproperlyConfigured(f"Unsupported storage URL scheme {parts.scheme!r}: use file:// or s3://")


@cache
def facility_storage(hub_code: str, role: str) -> Storage:
    """The storage of one facility. Hub and role come from code, never from input."""
    alias = facility_storage_alias(hub_code, role)
    return storage_from_url(settings.HUB_STORAGE_URLS[alias])


# SECTION: which facility serves a hub, and which can take writes

_facilities_known: dict[str, tuple[float, tuple[Facility, Facility]]] = {}
_facilities_lock = threading.Lock()


def hub_facilities(hub_code: str) -> tuple[Facility, Facility]:
    """(serving, other) facility of a hub, as the control database says,
    read at most every HUBPORT_FACILITY_CACHE_SECONDS per process (5, as the
    serving database side: hubs.db.sides). Every upload and download asked,
    twice for an upload, two queries each time. A facility marked unavailable
    or a failover reaches every process within that time, and the process
    that made the change at once (``hub_facilities_forget``). The rows are
    shared between threads: read them, never change them."""
    seconds = settings.HUBPORT_FACILITY_CACHE_SECONDS
    known = _facilities_known.get(hub_code)
    now = time.monotonic()
    if known is not None and now - known[0] < seconds:
        return known[1]
    from hubs.models import Facility, Hub

    facilities = list(Facility.objects.select_related("hub").filter(hub_id=hub_code))
    if not facilities:
        raise Hub.DoesNotExist(f"Hub {hub_code} has no facilities.")
    by_role = {facility.role: facility for facility in facilities}
    serving_role = facilities[0].hub.serving_facility
    other_role = "alternate" if serving_role == "primary" else "primary"
    found = (by_role[serving_role], by_role[other_role])
    if seconds > 0:
        with _facilities_lock:
            _facilities_known[hub_code] = (now, found)
    return found


def hub_facilities_forget(hub_code: str | None = None) -> None:
    """This process reads the hub's facilities (every hub's: None) afresh."""
    with _facilities_lock:
        if hub_code is None:
            _facilities_known.clear()
        else:
            _facilities_known.pop(hub_code, None)
