"""One decorator turns every domain error a page view lets rise into what a
person reads: the problem page for not_found, a row for htmx's "Load more",
otherwise the message on the page to go back to (or, with nowhere to go back
to, the problem page with the table's status). Anything else is not caught."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.views.files import activity as activity_views
from portal.views.snapshots import jobs as job_views
from snapshots.errors import NotFound, QuotaExceeded

pytestmark = all_databases


@pytest.fixture
def signed_in(client: Client, make_tenant) -> Client:
    client.force_login(make_tenant(hub="uk").user)
    return client


def refuse_with(error: Exception):
    def refuse(**kwargs):
        raise error

    return refuse


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_refusal_is_a_message_on_the_page_to_go_back_to(signed_in: Client, monkeypatch) -> None:
    monkeypatch.setattr(activity_views.selectors, "activity", refuse_with(QuotaExceeded("Your quota is full.")))
    response = signed_in.get(reverse("activity"), {"cursor": "x"})
    assert response.status_code == 302
    assert response["Location"] == reverse("activity")
    assert texts(response) == ["Your quota is full."]


def test_a_refusal_in_load_more_rows_is_a_row(signed_in: Client, monkeypatch) -> None:
    monkeypatch.setattr(activity_views.selectors, "activity", refuse_with(QuotaExceeded("Your quota is full.")))
    response = signed_in.get(reverse("activity"), {"fragment": "rows"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<tr class="load-more-row"><td colspan="3">') and "Your quota is full." in body


def test_not_found_is_the_problem_page_titled_for_the_view(signed_in: Client, monkeypatch) -> None:
    monkeypatch.setattr(activity_views.selectors, "activity", refuse_with(NotFound("/Gone does not exist.")))
    response = signed_in.get(reverse("activity"))
    assert response.status_code == 404
    assert "Not found" in response.content.decode() and "/Gone does not exist." in response.content.decode()
    job = signed_in.get(reverse("restore_job", kwargs={"job_id": 12345}))
    assert job.status_code == 404 and "Restore not found" in job.content.decode()
    assert f'href="{reverse("restores")}"' in job.content.decode()


def test_with_nowhere_to_go_back_to_the_problem_page_has_the_tables_status(signed_in: Client, monkeypatch) -> None:
    monkeypatch.setattr(job_views, "restore_job_get", refuse_with(QuotaExceeded("Your quota is full.")))
    response = signed_in.get(reverse("restore_job", kwargs={"job_id": 1}))
    assert response.status_code == 507
    assert "Storage quota exceeded" in response.content.decode() and "Your quota is full." in response.content.decode()


def test_anything_but_a_domain_error_is_not_caught(signed_in: Client, monkeypatch) -> None:
    monkeypatch.setattr(activity_views.selectors, "activity", refuse_with(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        signed_in.get(reverse("activity"))
