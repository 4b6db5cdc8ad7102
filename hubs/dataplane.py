"""The base of every data-plane model: tenant-scoped and routed to its hub."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from django.db import models
from django.db.models import F
from django.db.models.lookups import Exact

from hubs.routing import hub_database_alias

if TYPE_CHECKING:
    from hubs.models import Tenant


class TenantQuerySet(models.QuerySet):
    """A queryset that already names its tenant and its hub database."""

    _tenant_id: int | None = None

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]  # QuerySet._clone is private; not in django-stubs
        clone._tenant_id = self._tenant_id
        return clone

    def create(self, **kwargs: Any) -> Any:
        if self._tenant_id is not None:
            kwargs.setdefault("tenant_id", self._tenant_id)
            if kwargs["tenant_id"] != self._tenant_id:
                raise ValueError("A row cannot be created for another tenant than its queryset's.")
        return super().create(**kwargs)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        if self._tenant_id is not None:
            for obj in objs:
                if obj.tenant_id is None:
                    obj.tenant_id = self._tenant_id
                elif obj.tenant_id != self._tenant_id:
                    raise ValueError("A row cannot be created for another tenant than its queryset's.")
        return super().bulk_create(objs, *args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    def for_tenant(self, tenant: Tenant) -> TenantQuerySet:
        """Filter by tenant and route to its hub database, in one step."""
        return self.for_tenant_id(tenant.pk, hub_code=tenant.hub_id)

    def for_tenant_id(self, tenant_id: int, *, hub_code: str) -> TenantQuerySet:
        queryset = self.get_queryset().using(hub_database_alias(hub_code)).filter(tenant_id=tenant_id)
        queryset._tenant_id = tenant_id
        return queryset

    def for_tenant_by_key(self, tenant: Tenant) -> TenantQuerySet:
        """The tenant's rows, for a read or write by another key (node ids, say):
        the tenant stays in the query but out of the planner's choice of index
        (``tenant_id + 0``). With ``tenant_id = ?`` beside ``node_id IN (...)``
        the planner may read the tenant's index instead, which is every row of
        the tenant: SQLite did at a million files (a restore's batch spent most
        of its time so), with statistics sampled under ``analysis_limit`` or
        taken while the tenant was small; PostgreSQL can too, until the next
        ANALYZE."""
        queryset = (
            self.get_queryset().using(hub_database_alias(tenant.hub_id)).filter(Exact(F("tenant_id") + 0, tenant.pk))
        )
        queryset._tenant_id = tenant.pk
        return queryset

    def for_hub(self, hub_code: str) -> TenantQuerySet:
        """Every tenant's rows in one hub: only for hub-wide upkeep (expiry,
        collection, resuming stalled jobs), which then works tenant by tenant."""
        return self.get_queryset().using(hub_database_alias(hub_code))


class DataPlaneModel(models.Model):
    """Rows of one tenant, in its hub's database. ``tenant_id`` names a control-
    plane Tenant; there are no cross-database foreign keys."""

    tenant_id = models.BigIntegerField(db_index=True)

    objects = TenantManager()

    class Meta:
        abstract = True
