"""How drf-spectacular describes our authentication classes. Imported by
portal.api.urls, so the extensions are registered before any schema is built."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer", bearer_format="hp_<prefix>_<secret>"
        )
        scheme["description"] = "A personal access token, made in the portal under Settings → API tokens."
        return scheme


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.TenantSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The browser session (send X-CSRFToken on writes).",
        }
