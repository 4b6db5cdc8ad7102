"""The incident banner: a hub's customers see their hub's open incidents on
every portal page; other hubs' customers and anonymous visitors do not."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from hubs.models import Incident, IncidentUpdate
from hubs.services.incidents import incident_resolve

pytestmark = all_databases

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def signed_in(signup) -> Client:  # type: ignore[no-untyped-def]
    browser = Client()
    browser.force_login(signup.user)
    return browser


def open_incident(hub: str) -> Incident:
    incident = Incident.objects.create(
        hub_id=hub, component="storage.primary", title=f"{hub}: storage.primary failing", automatic=True,
        opened_at=T0, affected=["storage.primary.round_trip"],
    )  # fmt: skip
    IncidentUpdate.objects.create(incident=incident, at=T0, state=incident.state, body="Opened")
    cache.clear()
    return incident


def test_the_hubs_customers_see_the_banner_and_others_do_not(make_tenant, admin_user):
    uk, de = signed_in(make_tenant(hub="uk")), signed_in(make_tenant(hub="de"))
    incident = open_incident("uk")

    page = uk.get(reverse("home"), follow=True).content.decode()
    assert f'data-incident="{incident.pk}"' in page
    assert "uk: storage.primary failing" in page and "Investigating since" in page
    assert reverse("status") in page
    assert "data-incident=" not in de.get(reverse("home"), follow=True).content.decode()
    assert "data-incident=" not in Client().get(reverse("status")).content.decode()

    # Resolving clears the short cache at once (the subscribers' hook).
    with_callbacks(lambda: incident_resolve(incident=incident, acting_user=admin_user))
    assert "data-incident=" not in uk.get(reverse("home"), follow=True).content.decode()


def with_callbacks(action) -> None:  # type: ignore[no-untyped-def]
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        action()


def test_the_banner_costs_one_query_then_none_while_cached(make_tenant, django_assert_max_num_queries):
    from hubs.selectors import open_incidents_for_hub

    open_incident("uk")
    with django_assert_max_num_queries(1):
        assert len(open_incidents_for_hub("uk")) == 1
    with django_assert_max_num_queries(0):
        assert len(open_incidents_for_hub("uk")) == 1
