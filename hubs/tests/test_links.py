"""Absolute links in emails, calendars and the Atom feed are HUBPORT_BASE_URL
joined to the route's reversed path (hubs.links), whatever host the request
named and wherever the email is written (a worker has no request).

The tests mount every page under /moved/ (this module is the URLconf), so a
link typed as a path instead of reversed from its route's name is caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
import time_machine
from django.core import mail
from django.template import Context, Template
from django.test import Client, override_settings
from django.urls import include, path, reverse

from conftest import all_databases
from hubs.links import absolute_url
from hubs.models import Hub, MaintenanceWindow
from hubs.services.maintenance import maintenance_schedule
from hubs.tests.windows import END, NOW, START, ics_values

BASE = "https://portal.example.com"
ATOM = "{http://www.w3.org/2005/Atom}"
MOVED_URLCONF = __name__

urlpatterns = [path("moved/", include("portal.urls"))]


@override_settings(HUBPORT_BASE_URL=BASE, ROOT_URLCONF=MOVED_URLCONF)
def test_absolute_url_joins_the_base_url_to_the_reversed_path():
    assert absolute_url("status") == f"{BASE}{reverse('status')}" == f"{BASE}/moved/status/"
    assert absolute_url("status_calendar", code="ae") == f"{BASE}{reverse('status_calendar', kwargs={'code': 'ae'})}"
    assert absolute_url("restore_job", 7) == f"{BASE}{reverse('restore_job', args=[7])}"


@override_settings(HUBPORT_BASE_URL=f"{BASE}/")
def test_the_template_tag_is_the_same_and_a_trailing_slash_is_not_doubled():
    text = Template('{% load absolute_urls %}{% absolute_url "status_calendar" code="uk" %}').render(Context())
    assert text == f"{BASE}{reverse('status_calendar', kwargs={'code': 'uk'})}"


# SECTION: maintenance emails, calendars and the feed


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    from celery import current_app as app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def window(make_tenant, django_capture_on_commit_callbacks, settings) -> MaintenanceWindow:
    """A window of hub uk announced to the owner of a uk tenant, with HUBPORT_BASE_URL
    set to BASE and every page under /moved/."""
    settings.HUBPORT_BASE_URL = BASE
    settings.ROOT_URLCONF = MOVED_URLCONF
    make_tenant(hub="uk", email="owner@uk.test")
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        return maintenance_schedule(
            hubs=list(Hub.objects.filter(code="uk")), title="Storage upgrade", starts_at=START, ends_at=END
        )


@all_databases
def test_a_maintenance_email_and_its_calendar_link_to_the_base_url(eager_tasks, window):
    [message] = mail.outbox
    status = f"{BASE}{reverse('status')}"
    assert status == f"{BASE}/moved/status/"
    assert f"Live status: {status}\n" in message.body
    assert f"Calendar of hub uk: {BASE}{reverse('status_calendar', kwargs={'code': 'uk'})}\n" in message.body
    [(_, ics, _)] = message.attachments
    assert ics_values(ics, "URL") == [status]
    [description] = ics_values(ics, "DESCRIPTION")
    assert f"Status: {status}" in description
    assert "127.0.0.1" not in message.body + ics


@all_databases
def test_the_status_calendar_links_to_the_base_url_not_the_requested_host(window):
    response = Client().get(reverse("status_calendar", kwargs={"code": "uk"}), HTTP_HOST="localhost")

    ics = response.content.decode()
    assert ics_values(ics, "URL") == [f"{BASE}{reverse('status')}"]
    assert "localhost" not in ics


@all_databases
def test_the_atom_feed_links_to_the_base_url_not_the_requested_host(window):
    response = Client().get(reverse("status_feed"), HTTP_HOST="localhost")

    assert "localhost" not in response.content.decode()
    feed = ElementTree.fromstring(response.content)
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"alternate": f"{BASE}{reverse('status')}", "self": f"{BASE}{reverse('status_feed')}"}
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}link").get("href") == f"{BASE}{reverse('status')}#window-{window.pk}"
