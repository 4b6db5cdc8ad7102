"""One storage per hub facility, built from settings.HUB_STORAGE_URLS.

URL forms (one environment variable per facility, see README):
- ``file:///srv/hubport/uk/primary``: a folder (the embedded default).
- ``s3://bucket-name?endpoint_url=https://...&region_name=...&access_key=...&secret_key=...``:
  an S3-compatible bucket through django-storages; without keys boto3's own
  credential chain is used.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage


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
