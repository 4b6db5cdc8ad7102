"""The probe tenant: made once per hub, provisioned, without members, and left
out of what customers see and of the store's schedules and notices."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hubs.models import Membership, Tenant
from hubs.selectors import notice_recipients
from snapshots.models import Snapshot
from snapshots.services.probe_tenant import probe_tenant_ensure
from snapshots.services.snapshots import snapshots_take_scheduled

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_made_once_provisioned_without_members_and_flagged() -> None:
    first = probe_tenant_ensure(hub_code="uk")
    again = probe_tenant_ensure(hub_code="uk")

    assert first.pk == again.pk and first.is_probe and first.provisioned_at is not None
    assert first.hub_id == "uk"
    assert not Membership.objects.filter(tenant=first).exists()
    assert Tenant.objects.filter(is_probe=True).count() == 1


def test_left_out_of_customer_counts_schedules_and_notices(make_tenant) -> None:
    customer = make_tenant(hub="uk", email="owner@uk.test")
    probe_tenant = probe_tenant_ensure(hub_code="uk")

    assert list(Tenant.objects.customers().filter(hub_id="uk")) == [customer.tenant]
    taken = snapshots_take_scheduled(hub_code="uk")
    assert taken == 1
    assert not Snapshot.objects.for_tenant(probe_tenant).filter(kind=Snapshot.Kind.SCHEDULED).exists()
    assert [email for _, email in notice_recipients(["uk"])] == ["owner@uk.test"]

    client = Client()
    client.force_login(customer.user)
    choices = client.get(reverse("tenant_choose")).content.decode()
    assert probe_tenant.name not in choices and probe_tenant.slug not in choices
