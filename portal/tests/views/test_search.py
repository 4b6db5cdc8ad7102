"""/search/ and the file manager's search box, through Django's test client: the
results fragment htmx asks for as you type, the full page without JavaScript,
Recently deleted, "Load more", a refused text said in the results, and another
tenant's files never shown."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.views.files import search as search_views
from snapshots import services

pytestmark = all_databases


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="uk", name="Acme Files Ltd")


@pytest.fixture
def signed_in(client: Client, owner) -> Client:
    client.force_login(owner.user)
    return client


def put_file(owner, path: str) -> None:
    services.file_write(
        tenant=owner.tenant, path=path, stream=io.BytesIO(b"12345"), content_length=5, acting_user=owner.user
    )


def search_url(**params: str) -> str:
    return f"{reverse('files_search')}?{urlencode(params)}"


def test_the_file_manager_has_the_search_box_wired_for_typing(signed_in):
    html = signed_in.get(reverse("files")).content.decode()
    assert 'id="search-q"' in html and 'id="search-results"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert f'hx-get="{reverse("files_search")}"' in html


def test_the_fragment_lists_hits_with_their_folder(signed_in, owner):
    put_file(owner, "/Reports/2026/budget-final.xlsx")
    put_file(owner, "/budget.txt")
    put_file(owner, "/other.txt")

    response = signed_in.get(search_url(q="BUDGET", fragment="results"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment, not a page
    entries = response.context["entries"]
    assert [(e.name, e.folder) for e in entries] == [("budget.txt", "/"), ("budget-final.xlsx", "/Reports/2026")]
    assert 'href="/files/Reports/2026"' in html
    assert "other.txt" not in html


def test_an_empty_box_clears_the_results(signed_in, owner):
    put_file(owner, "/a.txt")
    response = signed_in.get(search_url(q="", fragment="results"))
    assert response.status_code == 200 and response.content.decode().strip() == ""


def test_the_full_page_works_without_javascript_and_searches_recently_deleted(signed_in, owner):
    put_file(owner, "/keep/plan.txt")
    put_file(owner, "/gone/plan-old.txt")
    services.node_delete(tenant=owner.tenant, path="/gone/plan-old.txt", acting_user=owner.user)

    live = signed_in.get(search_url(q="plan"))
    assert live.status_code == 200 and "<html" in live.content.decode()
    assert [e.path for e in live.context["entries"]] == ["/keep/plan.txt"]

    deleted = signed_in.get(search_url(q="plan", deleted="on"))
    [entry] = deleted.context["entries"]
    assert entry.path == "/gone/plan-old.txt" and entry.deleted_at is not None
    assert entry.url == f"{reverse('trash')}?q=plan-old.txt"


def test_load_more_brings_the_next_rows(signed_in, owner, monkeypatch):
    monkeypatch.setattr(search_views, "SEARCH_PAGE_SIZE", 2)
    for n in range(5):
        put_file(owner, f"/many/item-{n}.txt")
    first = signed_in.get(search_url(q="item-", fragment="results"))
    seen = [e.name for e in first.context["entries"]]
    url = first.context["next_fragment_url"]
    while url:
        more = signed_in.get(url)
        assert more.status_code == 200 and "<table" not in more.content.decode()
        seen += [e.name for e in more.context["entries"]]
        url = more.context["next_url"] and more.context["next_fragment_url"]
    assert sorted(seen) == [f"item-{n}.txt" for n in range(5)] and len(set(seen)) == 5


def test_a_refused_text_is_said_in_the_results(signed_in):
    response = signed_in.get(search_url(q="reports/", fragment="results"))
    assert response.status_code == 200
    assert "Add part of a name after the last /." in response.content.decode()


def test_a_bad_cursor_is_a_message_not_a_500(signed_in):
    response = signed_in.get(search_url(q="abc", cursor="bm90LWpzb24"))
    assert response.status_code == 302 and response["Location"] == search_url(q="abc")


def test_another_tenants_files_never_show(signed_in, owner, make_tenant):
    other = make_tenant(hub="uk", name="Other Ltd")
    put_file(other, "/secret-plans.txt")
    put_file(owner, "/my-plans.txt")
    response = signed_in.get(search_url(q="plans", fragment="results"))
    assert [e.path for e in response.context["entries"]] == ["/my-plans.txt"]
    assert "secret" not in response.content.decode()


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get(search_url(q="abc"))
    assert response.status_code == 302 and "login" in response["Location"]
