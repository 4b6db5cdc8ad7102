"""Tenants are bound to their hub: rows live only in that hub's database, the
hub never changes, and data-plane queries that name no hub are refused."""

import pytest
from django.db import connections

from conftest import all_databases, hub_aliases, unprovision
from hubs.errors import HubChangeError
from hubs.models import Tenant
from hubs.routing import DataPlaneRoutingError
from snapshots.models import Node, NodeVersion, TenantClock

pytestmark = all_databases


def _rows_in(alias: str, table: str, tenant_id: int) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE tenant_id = %s", [tenant_id])
        return cursor.fetchone()[0]


def test_each_tenant_has_rows_only_in_its_own_hub_database(make_tenant):
    london = make_tenant(hub="uk").tenant
    sydney = make_tenant(hub="au").tenant

    for table in ("snapshots_tenantclock", "snapshots_node", "snapshots_nodeversion", "snapshots_change"):
        for alias in hub_aliases():
            assert _rows_in(alias, table, london.pk) == (1 if alias == "hub_uk" else 0), (table, alias)
            assert _rows_in(alias, table, sydney.pk) == (1 if alias == "hub_au" else 0), (table, alias)
    with connections["default"].cursor() as cursor:
        tables = connections["default"].introspection.table_names(cursor)
    assert not [t for t in tables if t.startswith("snapshots_")], "the control database holds no store tables"


def test_for_tenant_filters_by_tenant_and_routes_to_the_hub(make_tenant):
    one = make_tenant(hub="uk").tenant
    two = make_tenant(hub="uk").tenant
    queryset = NodeVersion.objects.for_tenant(one)
    assert queryset.db == "hub_uk"
    assert set(queryset.values_list("tenant_id", flat=True)) == {one.pk}
    assert TenantClock.objects.for_tenant(two).get().tenant_id == two.pk


def test_data_plane_query_without_hub_is_refused_with_a_clear_error(make_tenant):
    make_tenant(hub="uk")
    with pytest.raises(DataPlaneRoutingError, match=r"snapshots.Node .*for_tenant\(tenant\)"):
        list(Node.objects.all())
    with pytest.raises(DataPlaneRoutingError, match="NodeVersion"):
        NodeVersion.objects.filter(name="x").exists()


def test_data_plane_write_without_hub_is_refused(make_tenant):
    with pytest.raises(DataPlaneRoutingError):
        Node.objects.create(tenant_id=1, kind="folder", created_at="2026-01-01T00:00:00Z")


def test_for_tenant_create_refuses_another_tenants_id(make_tenant):
    one = make_tenant(hub="uk").tenant
    with pytest.raises(ValueError, match="another tenant"):
        Node.objects.for_tenant(one).create(tenant_id=one.pk + 1000, kind="file", created_at="2026-01-01T00:00:00Z")


def test_tenant_hub_cannot_change(make_tenant):
    tenant = make_tenant(hub="uk").tenant
    tenant.hub_id = "de"
    with pytest.raises(HubChangeError):
        tenant.save()
    reloaded = Tenant.objects.get(pk=tenant.pk)
    assert reloaded.hub_id == "uk"
    reloaded.hub_id = "au"
    with pytest.raises(HubChangeError):
        reloaded.save(update_fields=["hub"])
    with pytest.raises(HubChangeError):
        Tenant.objects.filter(pk=tenant.pk).update(hub_id="de")
    assert Tenant.objects.get(pk=tenant.pk).hub_id == "uk"


def test_provisioning_is_idempotent_and_repairs_a_half_made_account(make_tenant):
    from portal.services.provisioning import tenant_ensure_provisioned, tenant_provision

    tenant = make_tenant(hub="nz").tenant
    unprovision(tenant)

    tenant_ensure_provisioned(tenant=tenant)
    tenant_provision(tenant=tenant)
    assert TenantClock.objects.for_tenant(tenant).count() == 1
    assert NodeVersion.objects.for_tenant(tenant).count() == 1
    assert tenant.provisioned_at is not None
