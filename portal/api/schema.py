"""How drf-spectacular describes our authentication classes. Imported by
portal.api.urls, so the extensions are registered before any schema is built."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
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


class BodySerializerScheme(OpenApiSerializerExtension):
    """A request body refuses members it does not know (portal.api.fields.BodySerializer):
    its schema says so, so a client's generator and the contract test know it too."""

    target_class = "portal.api.fields.BodySerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        one_of = [{"required": list(names)} for names in getattr(self.target, "one_of_required", ())]
        return {**schema, "additionalProperties": False, **({"oneOf": one_of} if one_of else {})}


class HubportAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus: a body one of whose members must be
    given (BodySerializer.one_of_required) is itself required, though no single
    member is."""

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> tuple[Any, bool]:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        return schema, required or bool(getattr(serializer, "one_of_required", ()))
