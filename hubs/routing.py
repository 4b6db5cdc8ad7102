"""Data-plane routing: which database a model lives in.

Control-plane apps live on ``default``. Data-plane apps (DATA_PLANE_APPS) live
only on the hub databases ``hub_<code>``, and every query must name its hub:
through ``Model.objects.for_tenant(tenant)`` (hubs.dataplane), or through an
instance that was loaded that way. A query that names no hub raises
DataPlaneRoutingError instead of silently going to ``default``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

DATA_PLANE_APPS = frozenset({"snapshots"})
HUB_ALIAS_PREFIX = "hub_"


class DataPlaneRoutingError(RuntimeError):
    """A data-plane query named no hub."""


def hub_database_alias(hub_code: str) -> str:
    if hub_code not in settings.HUB_CODES:
        raise ValueError(f"Unknown hub code {hub_code!r}; known hubs: {', '.join(settings.HUB_CODES)}")
    return f"{HUB_ALIAS_PREFIX}{hub_code}"


def hub_queue(hub_code: str) -> str:
    if hub_code not in settings.HUB_CODES:
        raise ValueError(f"Unknown hub code {hub_code!r}")
    return f"hub.{hub_code}"


def is_hub_alias(alias: str) -> bool:
    return alias.startswith(HUB_ALIAS_PREFIX) and alias[len(HUB_ALIAS_PREFIX) :] in settings.HUB_CODES


def is_data_plane_model(model: type[models.Model]) -> bool:
    return model._meta.app_label in DATA_PLANE_APPS


class PlaneRouter:
    """Keeps the control plane on ``default`` and the data plane on hub aliases."""

    def _route(self, model: type[models.Model], hints: dict[str, Any]) -> str:
        if not is_data_plane_model(model):
            return "default"
        instance = hints.get("instance")
        alias = getattr(getattr(instance, "_state", None), "db", None)
        if alias and is_hub_alias(alias):
            return alias
        raise DataPlaneRoutingError(
            f"{model._meta.label} is a data-plane model and this query names no hub. "
            f"Reach it through {model.__name__}.objects.for_tenant(tenant), which routes "
            "to the tenant's hub database."
        )

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str:
        return self._route(model, hints)

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str:
        return self._route(model, hints)

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        if app_label in DATA_PLANE_APPS:
            return is_hub_alias(db)
        return db == "default"
