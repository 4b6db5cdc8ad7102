"""Absolute links for emails, calendars and feeds, which are read away from any request.

Every such link is the route's path, from ``reverse()``, joined to
``settings.HUBPORT_BASE_URL`` (the portal's origin), never a path typed into a
string, so a renamed route cannot leave dead links in people's inboxes. Templates
use the ``absolute_url`` tag of ``hubs.templatetags.absolute_urls``. Every app may
import this module: hubs is the lowest app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse


def absolute_url(viewname: str, *args: Any, **kwargs: Any) -> str:
    """The absolute URL of a named route: ``absolute_url("restore_job", job_id=7)``."""
    path = reverse(viewname, args=args or None, kwargs=kwargs or None)
    return settings.HUBPORT_BASE_URL.rstrip("/") + path
