"""Snapshots, restores, versions and storage pages through Django's test
client: the snapshots of the retention grouped by the hub's local day, taking
one, browsing one or a moment read only and downloading from it, the restore
dialog with its dry run and its refusals (messages, never a 500), job pages
and their progress fragment, cancel, the versions of a file, the storage
figures; bad input, and another tenant's ids answered 404 exactly like
unknown ones."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import all_databases
from snapshots import selectors, services
from snapshots.models import NodeVersion, RestoreJob, Snapshot
from snapshots.services import RestoreRequest, restore_run, restore_start, snapshot_create

pytestmark = all_databases


# SECTION: helpers


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="uk", name="Acme History Ltd")


@pytest.fixture
def signed_in(client: Client, owner) -> Client:
    client.force_login(owner.user)
    return client


def put_file(tenant, path: str, content: bytes, user=None) -> NodeVersion:
    return services.file_write(
        tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user
    )


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def main_html(response) -> str:
    html = response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return html.replace("\xa0", " ")


@pytest.fixture
def deleted_folder(owner):
    """/Reports with two files and a subfolder, a snapshot, then /Reports deleted."""
    put_file(owner.tenant, "/Reports/q1.pdf", b"first quarter", owner.user)
    put_file(owner.tenant, "/Reports/q2.pdf", b"second quarter!", owner.user)
    put_file(owner.tenant, "/Reports/2025/old.txt", b"old", owner.user)
    put_file(owner.tenant, "/keep.txt", b"kept", owner.user)
    snapshot = snapshot_create(tenant=owner.tenant, acting_user=owner.user)
    services.node_delete(tenant=owner.tenant, path="/Reports", acting_user=owner.user)
    return snapshot


# SECTION: sign-in and navigation


@pytest.mark.parametrize(
    "url_name", ["snapshots", "restores", "storage", "snapshot_browse", "snapshot_restore", "file_versions"]
)
def test_pages_need_sign_in(client: Client, owner, url_name: str) -> None:
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_navigation_and_files_page_lead_to_history(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/notes.txt", b"hello", owner.user)
    html = signed_in.get(reverse("files")).content.decode()
    for url_name in ("snapshots", "restores", "storage"):
        assert f'href="{reverse(url_name)}"' in html
    assert "Restore to a point in time" in html
    assert f'href="{reverse("file_versions")}?path=/notes.txt"' in html


# SECTION: the snapshots page


def test_snapshots_are_grouped_by_the_hubs_local_day_with_counts_and_expiry(client: Client, make_tenant) -> None:
    owner = make_tenant(hub="au", name="Sydney Pty")  # AEDT, UTC+11 in November
    client.force_login(owner.user)
    put_file(owner.tenant, "/a.txt", b"12345", owner.user)
    # 13:30 UTC on the 23rd is 00:30 on the 24th in Sydney; 12:30 UTC is still the 23rd there.
    with time_machine.travel(datetime(2026, 11, 23, 12, 30, tzinfo=UTC), tick=False):
        snapshot_create(tenant=owner.tenant, kind=Snapshot.Kind.SCHEDULED)
    with time_machine.travel(datetime(2026, 11, 23, 13, 30, tzinfo=UTC), tick=False):
        snapshot_create(tenant=owner.tenant, acting_user=owner.user)
    with time_machine.travel(datetime(2026, 11, 24, 3, 0, tzinfo=UTC), tick=False):
        response = client.get(reverse("snapshots"))
    assert response.status_code == 200
    days = response.context["days"]
    assert [day.label for day in days] == ["Today, 24 November", "Yesterday, 23 November"]
    assert [snapshot.kind for snapshot in days[0].snapshots] == [Snapshot.Kind.MANUAL]
    html = main_html(response)
    assert "Sydney time (AEDT)" in html
    assert ">00:30 AEDT</time>" in html and ">23:30 AEDT</time>" in html
    assert "Manual" in html and "Scheduled" in html
    assert f"by {owner.user.email}" in html
    assert "1 <span" in html and "5 bytes" in html
    # Kept 28 days: the manual one until 22 December (Sydney date of 13:30 UTC + 28 days).
    assert "22 Dec 2026" in html


def test_snapshots_older_than_the_retention_are_not_listed(signed_in: Client, owner) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=29), tick=False):
        old = snapshot_create(tenant=owner.tenant)
    recent = snapshot_create(tenant=owner.tenant)
    listed = [snapshot.pk for day in signed_in.get(reverse("snapshots")).context["days"] for snapshot in day.snapshots]
    assert listed == [recent.pk]
    assert old.pk not in listed


def picker(html: str) -> dict[str, str]:
    tag = re.search(r'<input type="datetime-local" id="point-in-time-at"[^>]*>', html)
    assert tag is not None
    return dict(re.findall(r'(min|max|value)="([^"]*)"', tag.group(0)))


def test_the_point_in_time_picker_is_limited_to_the_retention(client: Client, make_tenant) -> None:
    with time_machine.travel(datetime(2026, 5, 1, 9, 0, tzinfo=UTC), tick=False):
        old_account = make_tenant(hub="uk")
    client.force_login(old_account.user)
    with time_machine.travel(datetime(2026, 7, 10, 12, 0, tzinfo=UTC), tick=False):
        html = main_html(client.get(reverse("snapshots")))
    # London is on BST (UTC+1) in July; the input is in the person's zone, the hub's by default.
    assert picker(html) == {"min": "2026-06-12T13:01", "max": "2026-07-10T13:00", "value": "2026-07-09T13:00"}
    assert "London time (BST)" in html


def test_the_picker_of_an_account_made_an_hour_ago_starts_when_it_was_made(client: Client, make_tenant) -> None:
    with time_machine.travel(datetime(2026, 11, 24, 10, 42, 30, tzinfo=UTC), tick=False):
        new_account = make_tenant(hub="uk")
    client.force_login(new_account.user)
    with time_machine.travel(datetime(2026, 11, 24, 11, 42, 30, tzinfo=UTC), tick=False):
        html = main_html(client.get(reverse("snapshots")))
    # Its first change was at 10:42:30: the first whole minute after it, and the default is inside the span.
    assert picker(html) == {"min": "2026-11-24T10:43", "max": "2026-11-24T11:42", "value": "2026-11-24T10:43"}
    assert "from 24 Nov 2026, 10:43 GMT to now" in html

    with time_machine.travel(datetime(2026, 11, 24, 11, 43, tzinfo=UTC), tick=False):
        chosen = client.get(reverse("snapshot_browse"), {"at": "2026-11-24T10:43"})
        too_early = client.get(reverse("snapshot_browse"), {"at": "2026-11-24T10:42"})
    assert chosen.status_code == 200
    assert "did not exist yet" in texts(too_early)[0]


def test_the_picker_of_a_three_day_old_account_defaults_to_a_day_ago(client: Client, make_tenant) -> None:
    with time_machine.travel(datetime(2026, 11, 21, 8, 0, tzinfo=UTC), tick=False):
        account = make_tenant(hub="au")  # Sydney: AEDT, UTC+11
    client.force_login(account.user)
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, tzinfo=UTC), tick=False):
        html = main_html(client.get(reverse("snapshots")))
    assert picker(html) == {"min": "2026-11-21T19:00", "max": "2026-11-24T19:00", "value": "2026-11-23T19:00"}


def test_take_a_snapshot_now(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/a.txt", b"abc", owner.user)
    response = signed_in.post(reverse("snapshot_take"))
    assert response.status_code == 302 and response["Location"] == reverse("snapshots")
    snapshot = Snapshot.objects.for_tenant(owner.tenant).get()
    assert (snapshot.kind, snapshot.file_count, snapshot.byte_count) == (Snapshot.Kind.MANUAL, 1, 3)
    assert snapshot.created_by_user_id == owner.user.pk
    assert "Snapshot taken" in texts(response)[0]
    assert signed_in.get(reverse("snapshot_take")).status_code == 405


def test_an_empty_account_says_there_are_no_snapshots_yet(signed_in: Client) -> None:
    assert "No snapshots yet." in main_html(signed_in.get(reverse("snapshots")))


def listed_ids(response) -> list[int]:
    return [int(found) for found in re.findall(r'data-snapshot-id="(\d+)"', main_html(response))]


def older_link(response) -> str | None:
    found = re.search(r'<a class="button button--small" href="([^"]+)">Older snapshots</a>', main_html(response))
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_snapshots_page_shows_fifty_at_a_time_newest_first(signed_in: Client, owner) -> None:
    start = timezone.now() - timedelta(hours=130)
    taken = []
    for hour in range(120):
        with time_machine.travel(start + timedelta(hours=hour), tick=False):
            taken.append(snapshot_create(tenant=owner.tenant, kind=Snapshot.Kind.SCHEDULED).pk)
    newest_first = list(reversed(taken))

    first = signed_in.get(reverse("snapshots"))
    assert listed_ids(first) == newest_first[:50]
    assert "120 in all" in main_html(first) and "Back to the newest" not in main_html(first)
    second_url = older_link(first)
    assert second_url is not None
    second = signed_in.get(second_url)
    assert listed_ids(second) == newest_first[50:100]
    assert "Back to the newest" in main_html(second)
    third_url = older_link(second)
    assert third_url is not None
    third = signed_in.get(third_url)
    assert listed_ids(third) == newest_first[100:]
    assert older_link(third) is None
    # A day split between two pages still says how many it holds in all.
    days = first.context["days"] + second.context["days"]
    split = [day for day in days if len(day.snapshots) != day.day_total]
    assert split and all(day.day_total > len(day.snapshots) for day in split)
    assert f"{split[0].day_total} snapshots ({len(split[0].snapshots)} on this page)" in main_html(first) + main_html(
        second
    )


def test_the_snapshots_page_costs_the_same_queries_at_any_size(signed_in: Client, owner) -> None:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    def queries_for_page() -> int:
        with (
            CaptureQueriesContext(connections["default"]) as control,
            CaptureQueriesContext(connections["hub_uk"]) as hub,
        ):
            assert signed_in.get(reverse("snapshots")).status_code == 200
        return len(control) + len(hub)

    snapshot_create(tenant=owner.tenant)
    queries_for_page()  # the first request of a session also fills caches
    few = queries_for_page()
    start = timezone.now() - timedelta(hours=100)
    for hour in range(90):
        with time_machine.travel(start + timedelta(hours=hour), tick=False):
            snapshot_create(tenant=owner.tenant, kind=Snapshot.Kind.SCHEDULED)
    assert queries_for_page() == few
    assert few <= 15


@pytest.mark.parametrize("cursor", ["nonsense", "eyJ2IjogMSwgImlkIjogMX0", "x" * 5000])
def test_a_bad_snapshots_cursor_is_a_400_not_a_500(signed_in: Client, owner, cursor: str) -> None:
    snapshot_create(tenant=owner.tenant)
    response = signed_in.get(reverse("snapshots"), {"cursor": cursor})
    assert response.status_code in (302, 400)


# SECTION: browsing a snapshot


def test_browsing_a_snapshot_shows_the_tree_as_it_was_under_an_as_of_banner(
    signed_in: Client, owner, deleted_folder
) -> None:
    response = signed_in.get(reverse("snapshot_browse"), {"snapshot": deleted_folder.pk})
    assert response.status_code == 200
    assert [entry.name for entry in response.context["entries"]] == ["Reports", "keep.txt"]
    html = main_html(response)
    assert "As of " in html and "London time (G" in html and "read-only" in html
    assert "Manual snapshot" in html

    inside = signed_in.get(reverse("snapshot_browse"), {"snapshot": deleted_folder.pk, "path": "/Reports"})
    assert [entry.name for entry in inside.context["entries"]] == ["2025", "q1.pdf", "q2.pdf"]
    assert [crumb.label for crumb in inside.context["crumbs"]] == ["All files", "Reports"]
    body = main_html(inside)
    assert 'name="paths" value="/Reports/q1.pdf"' in body
    assert f"snapshot={deleted_folder.pk}" in body
    assert "Restore this whole folder" in body


def test_browsing_a_file_path_opens_its_folder(signed_in: Client, deleted_folder) -> None:
    response = signed_in.get(reverse("snapshot_browse"), {"snapshot": deleted_folder.pk, "path": "/Reports/q1.pdf"})
    assert response.status_code == 302
    assert "path=%2FReports" in response["Location"]


def test_browsing_a_moment_shows_what_was_there_then(signed_in: Client, owner) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        put_file(owner.tenant, "/plan.txt", b"version one", owner.user)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        put_file(owner.tenant, "/plan.txt", b"version two, longer", owner.user)
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        # 10:00 London time (GMT in March) is between the two writes.
        response = signed_in.get(reverse("snapshot_browse"), {"at": "2026-03-02T10:00"})
        assert response.status_code == 200
        assert [(entry.name, entry.size) for entry in response.context["entries"]] == [("plan.txt", 11)]
        assert "Point in time" in main_html(response)
        download_url = response.context["entries"][0].url
        assert "at=2026-03-02T10%3A00%3A00%2B00%3A00" in download_url
        download = signed_in.get(download_url)
        assert b"".join(download.streaming_content) == b"version one"


@pytest.mark.parametrize(
    "query, message",
    [
        ({}, "Choose a snapshot or a moment"),
        ({"at": "yesterday"}, "Enter the date and time as shown"),
        ({"snapshot": "x"}, "Snapshot: Enter a whole number."),
        ({"snapshot": "1", "at": "2026-01-01T10:00"}, "Choose a snapshot or a moment"),
    ],
)
def test_bad_sources_are_explained_on_the_snapshots_page(signed_in: Client, query, message) -> None:
    response = signed_in.get(reverse("snapshot_browse"), query)
    assert response.status_code == 302 and response["Location"] == reverse("snapshots")
    assert any(message in text for text in texts(response)), texts(response)


def test_moments_outside_the_retention_are_refused_with_the_reason(signed_in: Client) -> None:
    now = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(0))
    too_old = (now - timedelta(days=29)).strftime("%Y-%m-%dT%H:%M")
    future = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    old = signed_in.get(reverse("snapshot_browse"), {"at": too_old})
    assert old.status_code == 302
    assert "more than 28 days ago" in texts(old)[0]
    ahead = signed_in.get(reverse("snapshot_browse"), {"at": future})
    assert any("in the future" in text for text in texts(ahead))


def test_a_time_a_clock_change_skips_is_refused(signed_in: Client) -> None:
    with time_machine.travel(datetime(2026, 4, 5, 12, 0, tzinfo=UTC), tick=False):
        # 01:30 on 29 March 2026 does not exist in London (clocks go from 01:00 to 02:00).
        response = signed_in.get(reverse("snapshot_browse"), {"at": "2026-03-29T01:30"})
    assert response.status_code == 302
    assert "couldn’t be interpreted" in texts(response)[0] or "couldn't be interpreted" in texts(response)[0]


def test_unknown_paths_and_snapshots_are_404(signed_in: Client, deleted_folder) -> None:
    assert (
        signed_in.get(reverse("snapshot_browse"), {"snapshot": deleted_folder.pk, "path": "/Nope"}).status_code == 404
    )
    assert signed_in.get(reverse("snapshot_browse"), {"snapshot": deleted_folder.pk + 1000}).status_code == 404
    assert signed_in.get(reverse("snapshot_browse"), {"snapshot": 2**63 - 1}).status_code == 404
    bad_cursor = signed_in.get(reverse("snapshot_browse"), {"snapshot": deleted_folder.pk, "cursor": "zz"})
    assert bad_cursor.status_code == 302
    assert "cursor is not valid" in texts(bad_cursor)[0]


def test_expired_snapshots_cannot_be_browsed(signed_in: Client, owner) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=29), tick=False):
        old = snapshot_create(tenant=owner.tenant)
    assert signed_in.get(reverse("snapshot_browse"), {"snapshot": old.pk}).status_code == 404


def test_load_more_pages_through_a_snapshot_folder(signed_in: Client, owner, monkeypatch) -> None:
    from portal.views.snapshots import browse as snapshot_browse_views

    monkeypatch.setattr(snapshot_browse_views, "LISTING_PAGE_SIZE", 2)
    put_file(owner.tenant, "/B/x.txt", b"x", owner.user)
    for n in range(3):
        put_file(owner.tenant, f"/f{n}.txt", b"x", owner.user)
    snapshot = snapshot_create(tenant=owner.tenant)
    names: list[str] = []
    query = {"snapshot": snapshot.pk}
    for _ in range(5):
        response = signed_in.get(reverse("snapshot_browse"), {**query, "fragment": "rows"})
        names += [entry.name for entry in response.context["entries"]]
        if not response.context["next_url"]:
            break
        query = {"snapshot": snapshot.pk, "cursor": re.search(r"cursor=([^&]+)", response.context["next_url"])[1]}
        query["cursor"] = query["cursor"].replace("%3D", "=").replace("%2F", "/")
    assert names == ["B", "f0.txt", "f1.txt", "f2.txt"]


# SECTION: downloading from a snapshot


def test_download_from_a_snapshot_streams_the_bytes_of_then(signed_in: Client, owner, deleted_folder) -> None:
    response = signed_in.get(reverse("snapshot_download"), {"snapshot": deleted_folder.pk, "path": "/Reports/q2.pdf"})
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == b"second quarter!"
    assert response["Content-Disposition"] == "attachment; filename=\"q2.pdf\"; filename*=UTF-8''q2.pdf"
    assert response["Content-Length"] == "15"


def test_download_of_a_folder_or_nothing(signed_in: Client, deleted_folder) -> None:
    folder = signed_in.get(reverse("snapshot_download"), {"snapshot": deleted_folder.pk, "path": "/Reports"})
    assert folder.status_code == 302
    assert "is a folder" in texts(folder)[0]
    missing = signed_in.get(reverse("snapshot_download"), {"snapshot": deleted_folder.pk, "path": "/Reports/q9.pdf"})
    assert missing.status_code == 404
    no_path = signed_in.get(reverse("snapshot_download"), {"snapshot": deleted_folder.pk})
    assert no_path.status_code == 302
    assert "Path: This field is required." in texts(no_path)[0]


# SECTION: the restore dialog


def test_the_restore_dialog_previews_with_the_default_options(signed_in: Client, owner, deleted_folder) -> None:
    response = signed_in.get(reverse("snapshot_restore"), {"snapshot": deleted_folder.pk, "paths": ["/Reports"]})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.total_items == 5
    assert preview.counts["restored"] == 5
    html = main_html(response)
    assert 'value="rename" checked' in html and 'value="original" checked' in html
    stamp = timezone.localtime(deleted_folder.taken_at, owner.tenant.hub.zone).strftime("%Y-%m-%d %H:%M")
    assert f"Reports (restored {stamp})" in html
    assert "A snapshot is taken just before the restore" in html
    assert "Start the restore" in html
    assert "/Reports/q1.pdf" in html
    # Nothing changed: a dry run.
    assert "/Reports" not in selectors.tree_as_of(tenant=owner.tenant)
    assert RestoreJob.objects.for_tenant(owner.tenant).count() == 0


def test_the_preview_fragment_follows_the_options(signed_in: Client, owner, deleted_folder) -> None:
    put_file(owner.tenant, "/Reports/q1.pdf", b"a new q1", owner.user)
    query = {"snapshot": deleted_folder.pk, "paths": ["/Reports"], "fragment": "preview"}
    rename = signed_in.get(reverse("snapshot_restore"), query)
    assert rename.context["preview"].counts["renamed"] == 1
    assert b'id="restore-preview"' in rename.content and b"<main" not in rename.content
    skip = signed_in.get(reverse("snapshot_restore"), {**query, "conflict": "skip"})
    assert skip.context["preview"].counts["skipped"] == 1
    overwrite = signed_in.get(reverse("snapshot_restore"), {**query, "conflict": "overwrite"})
    assert overwrite.context["preview"].counts["overwritten"] == 1
    assert b"so you can undo it" in overwrite.content
    into = signed_in.get(reverse("snapshot_restore"), {**query, "target": "folder", "folder": "/Recovered"})
    assert into.context["preview"].counts == {
        "restored": 5,
        "renamed": 0,
        "overwritten": 0,
        "skipped": 0,
        "unchanged": 0,
        "failed": 0,
        "removed": 0,
    }
    assert b"/Recovered/Reports/q1.pdf" in into.content


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"paths": []}, "Select at least one file or folder"),
        ({"conflict": "merge"}, "Unknown conflict policy 'merge'"),
        ({"target": "folder", "folder": ""}, "Give the folder to restore into"),
        ({"target": "folder", "folder": "/Reports/inside"}, "is inside what is being restored"),
        ({"paths": ["/Never/there"]}, "did not exist at that time"),
        ({"paths": ["/a/../b"]}, "'.' and '..' are not valid names"),
        ({"target": "folder", "folder": "/keep.txt"}, "is a file; choose a folder"),
    ],
)
def test_refused_restores_are_explained_in_the_dialog(signed_in: Client, owner, deleted_folder, extra, message) -> None:
    query = {"snapshot": deleted_folder.pk, "paths": ["/Reports"], **extra}
    response = signed_in.get(reverse("snapshot_restore"), query)
    assert response.status_code == 200
    assert response.context["preview"] is None
    assert message in response.context["error"], response.context["error"]
    assert "This restore cannot start." in main_html(response)
    # Posting the same refused request starts nothing and shows why.
    posted = signed_in.post(reverse("snapshot_restore"), query)
    assert posted.status_code == 200
    assert any(message in text for text in texts(posted))
    assert RestoreJob.objects.for_tenant(owner.tenant).count() == 0


def test_confirming_starts_the_job_and_opens_its_page(signed_in: Client, owner, deleted_folder) -> None:
    response = signed_in.post(
        reverse("snapshot_restore"), {"snapshot": deleted_folder.pk, "paths": ["/Reports"], "conflict": "rename"}
    )
    job = RestoreJob.objects.for_tenant(owner.tenant).get()
    assert response.status_code == 302
    assert response["Location"] == f"/restores/{job.pk}/"
    assert (job.state, job.paths, job.target, job.conflict) == ("queued", ["/Reports"], "", "rename")
    assert job.snapshot_id == deleted_folder.pk and job.requested_by_user_id == owner.user.pk
    assert job.pre_restore_snapshot.kind == Snapshot.Kind.PRE_RESTORE
    assert "Restore started" in texts(response)[0]


def test_a_moment_restore_into_a_new_folder(signed_in: Client, owner) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        put_file(owner.tenant, "/plan.txt", b"version one", owner.user)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        services.node_delete(tenant=owner.tenant, path="/plan.txt", acting_user=owner.user)
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        response = signed_in.post(
            reverse("snapshot_restore"),
            {"at": "2026-03-02T10:00", "paths": ["/plan.txt"], "target": "folder", "folder": "/Recovered"},
        )
        assert response.status_code == 302
        job = RestoreJob.objects.for_tenant(owner.tenant).get()
        assert job.snapshot_id is None and job.source_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        assert job.target == "/Recovered"
        restore_run(tenant=owner.tenant, job_id=job.pk)
    assert selectors.node_at_path(tenant=owner.tenant, path="/Recovered/plan.txt").size == 11


def test_the_restore_dialog_needs_a_source_it_may_use(signed_in: Client, make_tenant, deleted_folder) -> None:
    other = make_tenant(hub="uk", name="Other Ltd")
    theirs = snapshot_create(tenant=other.tenant)
    assert signed_in.get(reverse("snapshot_restore"), {"snapshot": theirs.pk, "paths": ["/"]}).status_code == 404
    assert signed_in.post(reverse("snapshot_restore"), {"snapshot": theirs.pk, "paths": ["/"]}).status_code == 404
    assert RestoreJob.objects.for_tenant(other.tenant).count() == 0
    assert signed_in.put(reverse("snapshot_restore")).status_code == 405


# SECTION: restore jobs


def test_the_job_page_polls_until_the_job_ends(signed_in: Client, owner, deleted_folder) -> None:
    job = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=deleted_folder.pk, paths=["/Reports"]),
    )
    page = signed_in.get(f"/restores/{job.pk}/")
    assert page.status_code == 200
    html = main_html(page)
    assert "Queued" in html and 'hx-trigger="every 1s"' in html
    assert "Cancel restore" in html
    assert "/Reports" in html and "where they were" in html and "Keep both" in html
    assert f"snapshot={job.pre_restore_snapshot_id}" in html
    assert f"snapshot={deleted_folder.pk}" in html

    restore_run(tenant=owner.tenant, job_id=job.pk)
    fragment = signed_in.get(reverse("restore_job_progress", kwargs={"job_id": job.pk}))
    body = fragment.content.decode()
    assert "<main" not in body
    assert "Succeeded" in body and "hx-trigger" not in body
    assert 'aria-valuenow="100"' in body and "5 of 5 items" in body
    assert re.search(r"<strong>5</strong> <span>restored</span>", body)
    assert "Cancel restore" not in body
    assert "Open in Files" in body


def test_failures_are_listed_on_the_job_page(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/x.txt", b"x", owner.user)
    job = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=snapshot_create(tenant=owner.tenant).pk),
    )
    RestoreJob.objects.for_tenant(owner.tenant).filter(pk=job.pk).update(
        state="failed", failed=1, failures=[{"path": "/x.txt", "reason": "its content is missing"}], error="Broken"
    )
    html = main_html(signed_in.get(f"/restores/{job.pk}/"))
    assert "1 item could not be restored" in html and "its content is missing" in html and "Broken" in html


def test_cancel_a_queued_job(signed_in: Client, owner, deleted_folder) -> None:
    job = restore_start(
        tenant=owner.tenant, acting_user=owner.user, request=RestoreRequest(snapshot_id=deleted_folder.pk)
    )
    response = signed_in.post(reverse("restore_job_cancel", kwargs={"job_id": job.pk}))
    assert response.status_code == 302 and response["Location"] == f"/restores/{job.pk}/"
    job.refresh_from_db()
    assert job.state == RestoreJob.State.CANCELLED
    assert "cancelled before it started" in texts(response)[0]
    again = signed_in.post(reverse("restore_job_cancel", kwargs={"job_id": job.pk}))
    assert any("already ended" in text for text in texts(again))
    assert signed_in.get(reverse("restore_job_cancel", kwargs={"job_id": job.pk})).status_code == 405


def test_the_restores_list_is_newest_first(signed_in: Client, owner, deleted_folder) -> None:
    first = restore_start(
        tenant=owner.tenant, acting_user=owner.user, request=RestoreRequest(snapshot_id=deleted_folder.pk)
    )
    second = restore_start(
        tenant=owner.tenant,
        acting_user=owner.user,
        request=RestoreRequest(snapshot_id=deleted_folder.pk, paths=["/Reports"], target="/R"),
    )
    response = signed_in.get(reverse("restores"))
    assert [job.pk for job in response.context["jobs"]] == [second.pk, first.pk]
    html = main_html(response)
    assert "Everything" in html and "/Reports" in html and "/R</code>" in html
    assert signed_in.get(reverse("restores"), {"cursor": "bad"}).status_code == 302


def test_an_empty_restores_list(signed_in: Client) -> None:
    assert "No restores yet." in main_html(signed_in.get(reverse("restores")))


# SECTION: versions of a file


@pytest.fixture
def three_versions(owner):
    start = timezone.now() - timedelta(days=3)
    versions = []
    for n, content in enumerate((b"one", b"two two", b"three three three")):
        with time_machine.travel(start + timedelta(hours=n), tick=False):
            versions.append(put_file(owner.tenant, "/doc.txt", content, owner.user))
    return versions


def test_the_versions_page_lists_every_version_newest_first(signed_in: Client, owner, three_versions) -> None:
    response = signed_in.get(reverse("file_versions"), {"path": "/doc.txt"})
    assert response.status_code == 200
    assert [version.pk for version in response.context["versions"]] == [v.pk for v in reversed(three_versions)]
    html = main_html(response)
    assert "Current" in html and "17 bytes" in html and "3 bytes" in html
    assert f"by {owner.user.email}" in html
    assert html.count("Restore this version…") == 2  # not for the current one


def test_download_any_version(signed_in: Client, three_versions) -> None:
    response = signed_in.get(reverse("version_download"), {"version": three_versions[0].pk})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"one"
    assert 'filename="doc.txt"' in response["Content-Disposition"]


def test_restore_a_version_makes_it_current(signed_in: Client, owner, three_versions) -> None:
    response = signed_in.post(reverse("version_restore"), {"version": three_versions[1].pk})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('file_versions')}?path=%2Fdoc.txt"
    assert "it is the current content of “doc.txt” now" in texts(response)[0]
    current = selectors.node_at_path(tenant=owner.tenant, path="/doc.txt")
    assert current.blob_id == three_versions[1].blob_id
    assert signed_in.get(reverse("version_restore")).status_code == 405


def test_a_deleted_files_versions_bring_it_back(signed_in: Client, owner, three_versions) -> None:
    services.node_delete(tenant=owner.tenant, path="/doc.txt", acting_user=owner.user)
    response = signed_in.get(reverse("file_versions"), {"path": "/doc.txt"})
    assert response.status_code == 200
    assert "This file was deleted" in main_html(response)
    signed_in.post(reverse("version_restore"), {"version": three_versions[0].pk})
    assert selectors.node_at_path(tenant=owner.tenant, path="/doc.txt").size == 3


def test_versions_bad_input(signed_in: Client, owner) -> None:
    services.folder_create(tenant=owner.tenant, path="/Folder", acting_user=owner.user)
    assert signed_in.get(reverse("file_versions")).status_code == 400
    assert signed_in.get(reverse("file_versions"), {"path": "/nothing.txt"}).status_code == 404
    folder = signed_in.get(reverse("file_versions"), {"path": "/Folder"})
    assert folder.status_code == 302 and "only files have versions" in texts(folder)[0]
    assert signed_in.get(reverse("version_download"), {"version": "abc"}).status_code == 400
    assert signed_in.get(reverse("version_download"), {"version": 2**63}).status_code == 400
    bad_post = signed_in.post(reverse("version_restore"), {"version": "-1"})
    assert bad_post.status_code == 302 and "Version: " in texts(bad_post)[0]


# SECTION: storage


def test_storage_shows_live_bytes_quota_and_history(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/a.bin", b"a" * 2048, owner.user)
    put_file(owner.tenant, "/b.bin", b"b" * 1000, owner.user)
    put_file(owner.tenant, "/b.bin", b"c" * 10, owner.user)  # the 1,000 bytes before are history now
    services.node_delete(tenant=owner.tenant, path="/a.bin", acting_user=owner.user)
    response = signed_in.get(reverse("storage"))
    usage = response.context["usage"]
    assert (usage.live_bytes, usage.live_files, usage.history_bytes) == (10, 1, 3048)
    html = main_html(response)
    assert 'data-live-bytes="10"' in html and 'data-history-bytes="3048"' in html
    assert "3.0 KiB" in html and "does not count towards your quota" in html


# SECTION: another tenant's ids answer 404, exactly like unknown ones


def test_another_tenants_snapshots_jobs_and_versions_answer_404(signed_in: Client, owner, make_tenant) -> None:
    other = make_tenant(hub="uk", name="Other Ltd")
    version = put_file(other.tenant, "/Secret/plans.txt", b"secret", other.user)
    snapshot = snapshot_create(tenant=other.tenant)
    job = restore_start(tenant=other.tenant, acting_user=other.user, request=RestoreRequest(snapshot_id=snapshot.pk))
    # And one in another hub, whose ids may collide with this hub's.
    elsewhere = make_tenant(hub="de", name="Elsewhere GmbH")
    put_file(elsewhere.tenant, "/x.txt", b"x", elsewhere.user)
    elsewhere_snapshot = snapshot_create(tenant=elsewhere.tenant)

    for snapshot_id in (snapshot.pk, elsewhere_snapshot.pk):
        assert signed_in.get(reverse("snapshot_browse"), {"snapshot": snapshot_id}).status_code == 404
        assert (
            signed_in.get(
                reverse("snapshot_download"), {"snapshot": snapshot_id, "path": "/Secret/plans.txt"}
            ).status_code
            == 404
        )
    for url_name in ("restore_job", "restore_job_progress"):
        assert signed_in.get(reverse(url_name, kwargs={"job_id": job.pk})).status_code == 404
    assert signed_in.post(reverse("restore_job_cancel", kwargs={"job_id": job.pk})).status_code == 404
    assert signed_in.get(reverse("version_download"), {"version": version.pk}).status_code == 404
    assert signed_in.post(reverse("version_restore"), {"version": version.pk}).status_code == 404
    assert signed_in.get(reverse("file_versions"), {"path": "/Secret/plans.txt"}).status_code == 404
    job.refresh_from_db()
    assert job.state == RestoreJob.State.QUEUED and not job.cancel_requested

    def scrub(html: str) -> str:
        return re.sub(r"\b\d+\b", "N", html)

    theirs = main_html(signed_in.get(reverse("snapshot_browse"), {"snapshot": snapshot.pk}))
    nothing = main_html(signed_in.get(reverse("snapshot_browse"), {"snapshot": snapshot.pk + 10_000}))
    assert scrub(theirs) == scrub(nothing)
    their_job = main_html(signed_in.get(f"/restores/{job.pk}/"))
    no_job = main_html(signed_in.get(f"/restores/{job.pk + 10_000}/"))
    assert scrub(their_job) == scrub(no_job)
    their_version = main_html(signed_in.get(reverse("version_download"), {"version": version.pk}))
    no_version = main_html(signed_in.get(reverse("version_download"), {"version": version.pk + 10_000}))
    assert scrub(their_version) == scrub(no_version)

    # Lists hold only the signed-in tenant's rows.
    assert signed_in.get(reverse("snapshots")).context["days"] == []
    assert signed_in.get(reverse("restores")).context["jobs"] == []
    assert signed_in.get(reverse("storage")).context["usage"].live_bytes == 0
