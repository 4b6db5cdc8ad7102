"""Failed sign-ins through the real sign-in page count for the hubs of the
account's tenants (else the control plane) and fail security.failed_sign_ins
above its threshold."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from hubs.models import Membership
from hubs.monitoring.probes import Probe, probes_for
from hubs.monitoring.sign_ins import FAILED, sign_in_events_count

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


def sign_in(email: str, password: str) -> int:
    return Client().post(reverse("login"), {"email": email, "password": password}).status_code


def probe(hub_code: str | None) -> Probe:
    return next(found for found in probes_for(hub_code) if found.name == "security.failed_sign_ins")


def test_failed_sign_ins_count_per_hub_and_fail_the_probe_above_the_threshold(make_tenant, settings) -> None:
    settings.HUBPORT_PROBE_FAILED_SIGN_INS = 3
    uk = make_tenant(hub="uk", email="owner@uk.test")
    hk = make_tenant(hub="hk")
    Membership.objects.create(user=uk.user, tenant=hk.tenant, role=Membership.Role.MEMBER)

    for _ in range(4):
        assert sign_in("owner@uk.test", "wrong password") == 200
    sign_in("nobody@example.test", "wrong password")
    assert sign_in("owner@uk.test", uk.user.raw_password) == 302  # a success counts nowhere

    assert sign_in_events_count(hub_code="uk", kind=FAILED, minutes=15) == 4
    assert sign_in_events_count(hub_code="hk", kind=FAILED, minutes=15) == 4
    assert sign_in_events_count(hub_code=None, kind=FAILED, minutes=15) == 1
    assert sign_in_events_count(hub_code="de", kind=FAILED, minutes=15) == 0
    failing = probe("uk").run()
    assert not failing.ok
    assert failing.detail == "4 failed sign-ins in 15 min (fails above 3)"
    assert probe(None).run().ok
    assert (probe("uk").component, probe("uk").severity) == ("security", "warning")


def test_only_the_last_fifteen_minutes_count() -> None:
    from datetime import UTC, datetime, timedelta

    from hubs.monitoring.sign_ins import sign_in_event_record

    at = datetime(2026, 11, 30, 3, 0, 30, tzinfo=UTC)
    sign_in_event_record(hub_code="nz", kind=FAILED, moment=at)

    assert sign_in_events_count(hub_code="nz", kind=FAILED, minutes=15, moment=at + timedelta(minutes=14)) == 1
    assert sign_in_events_count(hub_code="nz", kind=FAILED, minutes=15, moment=at + timedelta(minutes=15)) == 0
