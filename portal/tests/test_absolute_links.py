"""The customer emails' links are HUBPORT_BASE_URL joined to the route's
reversed path (hubs.links), never the host a request named.

The tests mount every page under /moved/ (this module is the URLconf), so a
link typed as a path instead of reversed from its route's name is caught.
"""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client, override_settings
from django.urls import include, path, reverse

from conftest import all_databases
from snapshots.notifications import restore_finished_email_task

pytestmark = all_databases

BASE = "https://portal.example.com"

urlpatterns = [path("moved/", include("portal.urls"))]


@override_settings(HUBPORT_BASE_URL=BASE, ROOT_URLCONF=__name__)
def test_the_restore_email_links_to_the_job_page_at_the_base_url(make_tenant):
    made = make_tenant()

    restore_finished_email_task.apply(
        kwargs={"user_id": made.user.pk, "restore_job_id": 42, "state": "succeeded", "counts": {"restored": 1}}
    ).get()

    [message] = mail.outbox
    assert reverse("restore_job", kwargs={"job_id": 42}) == "/moved/restores/42/"
    assert message.body.endswith(f"\nDetails: {BASE}/moved/restores/42/")


@override_settings(HUBPORT_BASE_URL=BASE, ROOT_URLCONF=__name__)
def test_the_password_reset_link_is_at_the_base_url_whatever_host_was_asked(make_tenant):
    made = make_tenant()

    response = Client().post(reverse("password_reset"), {"email": made.user.email}, HTTP_HOST="localhost")
    assert response.status_code == 302

    [message] = mail.outbox
    link = re.search(r"https://\S+", message.body).group(0)
    uidb64, token = link.rstrip("/").split("/")[-2:]
    assert link == f"{BASE}/moved/password-reset/{uidb64}/{token}/"
    assert "localhost" not in message.body
