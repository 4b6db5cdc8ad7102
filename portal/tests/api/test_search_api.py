"""/api/v1/search/: names in the live tree and in Recently deleted, on the hub
database's own text index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL)."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from portal.tests.api.conftest import problem
from snapshots.selectors.search import search_names
from snapshots.services import file_write, node_delete, node_move, node_rename, trash_restore

pytestmark = all_databases


def search(api, q: str, **params: str):
    response = api.get(f"/api/v1/search/?{urlencode({'q': q, **params})}")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def paths(api, q: str, **params: str) -> list[str]:
    return [item["path"] for item in search(api, q, **params)["items"]]


def test_hits_carry_path_and_folder_and_rank_exact_then_prefix_then_substring(api):
    api.write("/Reports/annual-report.pdf")
    api.write("/report")
    api.write("/Archive/Report.txt")
    api.write("/Archive/2026/REPORT")
    api.write("/notes.txt")

    body = search(api, "report")

    items = body["items"]
    assert [item["path"] for item in items] == [
        "/Archive/2026/REPORT",  # exact names, newest first
        "/report",
        "/Archive/Report.txt",  # then names starting with the text
        "/Reports",
        "/Reports/annual-report.pdf",  # then the rest
    ]
    assert body["next_cursor"] is None and body["next"] is None
    by_path = {item["path"]: item for item in items}
    assert by_path["/Archive/2026/REPORT"]["folder"] == "/Archive/2026"
    assert by_path["/report"]["folder"] == "/"
    assert by_path["/Reports"]["kind"] == "folder" and by_path["/Reports"]["size"] == 5
    assert by_path["/report"]["kind"] == "file" and by_path["/report"]["size"] == 5
    assert by_path["/report"]["deleted_at"] is None


def test_another_tenants_files_never_appear(api, other_api):
    api.write("/mine/shared-name.txt")
    other_api.write("/theirs/shared-name.txt")
    other_api.write("/theirs/only-theirs.txt")
    node_delete(tenant=other_api.tenant, path="/theirs/shared-name.txt", acting_user=other_api.user)

    assert paths(api, "shared-name") == ["/mine/shared-name.txt"]
    assert paths(api, "only-theirs") == []
    assert paths(api, "shared-name", deleted="true") == []
    assert paths(other_api, "shared-name", deleted="true") == ["/theirs/shared-name.txt"]


def test_deleted_true_lists_only_recently_deleted_and_false_never_does(api):
    api.write("/keep/plan-a.txt")
    api.write("/gone/plan-b.txt")
    api.write("/gone/inner/plan-c.txt")
    api.write("/plan-d.txt")
    node_delete(tenant=api.tenant, path="/gone", acting_user=api.user)
    node_delete(tenant=api.tenant, path="/plan-d.txt", acting_user=api.user)

    # What was inside the deleted folder keeps open rows in the store; it is not live.
    assert paths(api, "plan") == ["/keep/plan-a.txt"]
    deleted = search(api, "plan", deleted="true")["items"]
    assert [item["path"] for item in deleted] == ["/plan-d.txt"]
    assert deleted[0]["deleted_at"] and deleted[0]["restorable_until"]
    assert paths(api, "gone", deleted="true") == ["/gone"]
    # A deleted hit's id is the one Recently deleted restores by.
    restored = api.post("/api/v1/trash/restore", {"id": deleted[0]["id"]})
    assert restored.status_code == 200
    assert paths(api, "plan-d") == ["/plan-d.txt"] and paths(api, "plan-d", deleted="true") == []


def test_the_index_follows_renames_moves_deletes_restores_and_replacements(api):
    api.write("/a/alpha-one.txt", b"1")
    api.write("/a/sub/alpha-two.txt", b"2")
    node_rename(tenant=api.tenant, path="/a/alpha-one.txt", new_name="beta-one.txt", acting_user=api.user)
    assert paths(api, "alpha") == ["/a/sub/alpha-two.txt"]
    assert paths(api, "beta") == ["/a/beta-one.txt"]

    node_move(tenant=api.tenant, from_path="/a/sub", to_path="/moved", acting_user=api.user)
    assert paths(api, "alpha-two") == ["/moved/alpha-two.txt"]

    api.write("/a/beta-one.txt", b"new content")  # a replacement is one live row, not two
    assert paths(api, "beta") == ["/a/beta-one.txt"]

    node_delete(tenant=api.tenant, path="/moved", acting_user=api.user)
    assert paths(api, "alpha") == []
    [folder] = search(api, "moved", deleted="true")["items"]
    trash_restore(tenant=api.tenant, version_id=folder["id"], acting_user=api.user)
    assert paths(api, "alpha") == ["/moved/alpha-two.txt"]
    assert paths(api, "moved", deleted="true") == []


def test_pages_follow_the_cursor_without_gaps_or_repeats(api):
    for n in range(7):
        api.write(f"/f{n % 2}/page-item-{n}.txt")
    everything = paths(api, "page-item", limit="100")
    assert len(everything) == 7

    seen: list[str] = []
    url = "/api/v1/search/?" + urlencode({"q": "page-item", "limit": "3"})
    sizes = []
    while url:
        response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        sizes.append(len(body["items"]))
        seen += [item["path"] for item in body["items"]]
        url = body["next"]
    assert seen == everything
    assert sizes == [3, 3, 1]


def test_deleted_items_page_newest_deletion_first(api):
    for n in range(5):
        api.write(f"/old-{n}.txt")
    for n in (3, 0, 4, 1, 2):
        node_delete(tenant=api.tenant, path=f"/old-{n}.txt", acting_user=api.user)
    first = search(api, "old-", deleted="true", limit="2")
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    order = [item["name"] for body in (first, second, third) for item in body["items"]]
    assert order == ["old-2.txt", "old-1.txt", "old-4.txt", "old-0.txt", "old-3.txt"]
    assert third["next_cursor"] is None


SPECIAL_NAMES = [
    "100% done.txt",
    "100 percent.txt",
    "a_b.txt",
    "axb.txt",
    "it's.txt",
    'say "hi".txt',
    "star*.txt",
    "stars.txt",
    "NEAR me.txt",
    "near-by.txt",
    "minus -x.txt",
    "back\\slash.txt",
    "(paren) AND ^caret:col.txt",
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("%", ["100% done.txt"]),
        ("0%", ["100% done.txt"]),
        ("_", ["a_b.txt"]),
        ("a_b", ["a_b.txt"]),
        ("'", ["it's.txt"]),
        ('"', ['say "hi".txt']),
        ('"hi"', ['say "hi".txt']),
        ("*", ["star*.txt"]),
        ("star*", ["star*.txt"]),
        ("NEAR", ["NEAR me.txt", "near-by.txt"]),
        ("NEAR(", []),
        ("-x", ["minus -x.txt"]),
        ("-", ["near-by.txt", "minus -x.txt"]),
        ("\\", ["back\\slash.txt"]),
        ("AND", ["(paren) AND ^caret:col.txt"]),
        ("^caret:", ["(paren) AND ^caret:col.txt"]),
        ("OR", []),
    ],
)
def test_special_characters_and_fts_operators_match_literally(api, query, expected):
    for name in SPECIAL_NAMES:
        api.write(f"/special/{name}")
    assert sorted(item["name"] for item in search(api, query)["items"]) == sorted(expected)


def test_a_text_with_a_slash_matches_paths(api):
    api.write("/Reports/2026-plan.pdf")
    api.write("/Other/2026-plan.pdf")
    assert paths(api, "reports/2026") == ["/Reports/2026-plan.pdf"]
    assert paths(api, "/2026-plan.pdf") == ["/Other/2026-plan.pdf", "/Reports/2026-plan.pdf"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": ""}, "invalid_input"),
        ({"q": "   "}, "invalid_search"),
        ({"q": "reports/"}, "invalid_search"),
        ({"q": "x" * 256}, "invalid_input"),
        ({"q": "a\x00b"}, "invalid_input"),
        ({}, "invalid_input"),
        ({"q": "a", "deleted": "yes"}, "invalid_input"),
        ({"q": "a", "cursor": "bm90LWpzb24"}, "invalid_cursor"),
        ({"q": "a", "colour": "red"}, "invalid_input"),
    ],
)
def test_bad_input_is_a_clear_400(api, params, code):
    body = problem(api.get(f"/api/v1/search/?{urlencode(params)}"), 400)
    assert body["type"] == f"urn:hubport:problem:{code}", body


def test_a_read_only_session_without_a_token_is_refused(client):
    problem(client.get("/api/v1/search/?q=abc"), 401)


# ---------------------------------------------------------------- the property

NAME_ALPHABET = st.sampled_from(list("abcAB_%*\"'- .é0"))
names_strategy = st.lists(
    st.text(NAME_ALPHABET, min_size=1, max_size=8).filter(lambda n: n.strip(" .") == n and n not in (".", "..")),
    min_size=1,
    max_size=12,
    unique_by=str.lower,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(names=names_strategy, queries=st.lists(st.text(NAME_ALPHABET, min_size=1, max_size=4), min_size=1, max_size=5))
def test_hits_equal_a_case_insensitive_substring_filter(make_tenant, names, queries):
    signup = make_tenant()
    tenant, user = signup.tenant, signup.user
    for index, name in enumerate(names):
        file_write(
            tenant=tenant, path=f"/d{index % 3}/{name}", stream=io.BytesIO(b"x"), content_length=1, acting_user=user
        )
    for query in queries:
        if not query.strip():
            continue
        page = search_names(tenant=tenant, text=query, limit=100)
        got = sorted(hit.path for hit in page.items)
        expected = sorted(
            f"/d{index % 3}/{name}" for index, name in enumerate(names) if query.lower() in name.lower()
        ) + sorted(f"/d{folder}" for folder in range(min(3, len(names))) if query.lower() in f"d{folder}")
        assert got == sorted(expected), (query, names)
        assert page.next_cursor is None


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 "GET /api/v1/search/?q=Board%20minutes&deleted=true HTTP/1.1" 200',
        '127.0.0.1 "GET /search/?q=Board+minutes&fragment=results HTTP/1.1" 200',
        '127.0.0.1 "GET /search/?deleted=on&q=Board+minutes HTTP/1.1" 200',
    ],
)
def test_a_search_text_is_withheld_from_request_lines(line):
    import logging

    from portal.log_filters import WithholdCustomerNames

    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, line, (), None)
    WithholdCustomerNames().filter(record)
    assert "Board" not in record.getMessage() and "q=[withheld]" in record.getMessage()
