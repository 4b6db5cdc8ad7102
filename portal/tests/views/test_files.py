"""The browser file manager through Django's test client: listing, breadcrumbs,
sorting, keyset "Load more", upload through the streaming endpoint, new
folder, rename, move, delete, download, Recently deleted and restore, activity,
bad input answered with a message (never a 500), and another tenant's paths
and ids answered 404."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.http.request import HttpRequest
from django.test import Client
from django.urls import reverse

from conftest import all_databases
from portal.views.files import activity as activity_views
from portal.views.files import browse as browse_views
from portal.views.files import trash as trash_views
from snapshots import selectors, services
from snapshots.models import Change, NodeVersion

pytestmark = all_databases


# SECTION: helpers


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="uk", name="Acme Files Ltd")


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


def listed_names(response) -> list[str]:
    return [entry.name for entry in response.context["entries"]]


def upload(client: Client, path: str, content: bytes, **extra):
    return client.put(
        f"{reverse('files_upload')}?path={quote(path)}",
        data=content,
        content_type="application/octet-stream",
        **extra,
    )


def live_paths(tenant) -> dict[str, str | None]:
    return selectors.tree_as_of(tenant=tenant)


# SECTION: the listing


def test_files_page_needs_sign_in(client: Client, owner) -> None:
    response = client.get(reverse("files"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_listing_shows_folders_first_with_sizes_times_and_who_changed_it(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Reports/q1.pdf", b"x" * 1500, owner.user)
    put_file(owner.tenant, "/Reports/q2.pdf", b"y" * 500, owner.user)
    put_file(owner.tenant, "/a-note.txt", b"hello", owner.user)
    services.folder_create(tenant=owner.tenant, path="/Zeta", acting_user=None)

    response = signed_in.get(reverse("files"))

    assert response.status_code == 200
    assert listed_names(response) == ["Reports", "Zeta", "a-note.txt"]
    reports = response.context["entries"][0]
    assert reports.is_folder and reports.size == 2000, "a folder shows its subtree's size"
    assert reports.url == "/files/Reports"
    html = response.content.decode()
    assert "2.0 KiB" in html.replace("\xa0", " ")
    assert owner.user.email in html
    assert response.context["usage"].live_bytes == 2005
    assert "used" in html and 'id="storage-summary"' in html
    note = response.context["entries"][2]
    assert note.url == f"{reverse('files_download')}?path=%2Fa-note.txt"


def test_breadcrumbs_link_every_ancestor(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Reports/2026/März/plan.txt", b"plan", owner.user)

    response = signed_in.get("/files/Reports/2026/M%C3%A4rz")

    assert response.status_code == 200
    crumbs = [(crumb.label, crumb.url) for crumb in response.context["crumbs"]]
    assert crumbs == [
        ("Files", "/files/"),
        ("Reports", "/files/Reports"),
        ("2026", "/files/Reports/2026"),
        ("März", "/files/Reports/2026/M%C3%A4rz"),
    ]
    assert listed_names(response) == ["plan.txt"]
    html = response.content.decode()
    assert 'aria-label="Breadcrumb"' in html and 'href="/files/Reports/2026"' in html
    # The same folder by its query-string address.
    by_query = signed_in.get(reverse("files"), {"path": "/Reports/2026/März"})
    assert listed_names(by_query) == ["plan.txt"]


def test_sorting_by_name_size_and_modified_keeps_folders_first(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/b.txt", b"12345", owner.user)
    put_file(owner.tenant, "/a.txt", b"1234567890", owner.user)
    put_file(owner.tenant, "/c.txt", b"1", owner.user)
    services.folder_create(tenant=owner.tenant, path="/Folder B", acting_user=owner.user)
    services.folder_create(tenant=owner.tenant, path="/Folder A", acting_user=owner.user)

    def names(order: str) -> list[str]:
        response = signed_in.get(reverse("files"), {"order": order})
        assert response.status_code == 200
        return listed_names(response)

    assert names("name") == ["Folder A", "Folder B", "a.txt", "b.txt", "c.txt"]
    assert names("-name") == ["Folder B", "Folder A", "c.txt", "b.txt", "a.txt"]
    assert names("size") == ["Folder A", "Folder B", "c.txt", "b.txt", "a.txt"]
    assert names("-size") == ["Folder A", "Folder B", "a.txt", "b.txt", "c.txt"]
    assert names("modified") == ["Folder B", "Folder A", "b.txt", "a.txt", "c.txt"]
    assert names("-modified") == ["Folder A", "Folder B", "c.txt", "a.txt", "b.txt"]

    page = signed_in.get(reverse("files"), {"order": "-size"})
    links = {link.column: link for link in page.context["sort_links"]}
    assert links["size"].aria_sort == "descending" and "order=size" in links["size"].url
    assert links["name"].aria_sort == "none" and "order=name" in links["name"].url
    assert links["modified"].aria_sort == "none" and "order=-modified" in links["modified"].url
    assert 'aria-sort="descending"' in page.content.decode()


@pytest.mark.parametrize(("folders", "files"), [(2, 4), (3, 3), (0, 7), (5, 0), (3, 0)])
def test_load_more_pages_through_folders_then_files_with_the_keyset_cursor(
    signed_in: Client, owner, monkeypatch, folders: int, files: int
) -> None:
    monkeypatch.setattr(browse_views, "LISTING_PAGE_SIZE", 3)
    for n in range(folders):
        services.folder_create(tenant=owner.tenant, path=f"/dir{n}", acting_user=owner.user)
    for n in range(files):
        put_file(owner.tenant, f"/file{n}.txt", str(n).encode(), owner.user)

    first = signed_in.get(reverse("files"))
    seen = listed_names(first)
    fragment_url = first.context["next_fragment_url"]
    if fragment_url:
        assert 'hx-get="' in first.content.decode() and "Load more" in first.content.decode()
    pages = 1
    while fragment_url:
        response = signed_in.get(fragment_url)
        assert response.status_code == 200
        assert "<html" not in response.content.decode(), "Load more answers rows only"
        seen += listed_names(response)
        fragment_url = response.context["next_fragment_url"]
        pages += 1
        assert pages < 10
    assert seen == [f"dir{n}" for n in range(folders)] + [f"file{n}.txt" for n in range(files)]
    assert pages == max(1, -(-(folders + files) // 3))


def test_load_more_without_javascript_renders_the_next_page(signed_in: Client, owner, monkeypatch) -> None:
    monkeypatch.setattr(browse_views, "LISTING_PAGE_SIZE", 2)
    for n in range(3):
        put_file(owner.tenant, f"/f{n}.txt", b"x", owner.user)
    first = signed_in.get(reverse("files"))
    second = signed_in.get(first.context["next_url"])
    assert second.status_code == 200
    assert listed_names(second) == ["f2.txt"]
    assert "Back to the start" in second.content.decode()


def test_a_file_address_opens_its_folder(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Docs/a.txt", b"a", owner.user)
    response = signed_in.get("/files/Docs/a.txt")
    assert response.status_code == 302
    assert response["Location"] == "/files/Docs"


def test_an_empty_folder_says_so(signed_in: Client) -> None:
    response = signed_in.get(reverse("files"))
    assert response.status_code == 200
    assert "This folder is empty" in response.content.decode()


# SECTION: upload


def test_upload_streams_the_request_into_the_store_with_csrf_header(owner, monkeypatch) -> None:
    def no_body(self):  # the endpoint must stream: reading request.body would hold the file in memory
        raise AssertionError("request.body must not be read by the upload endpoint")

    monkeypatch.setattr(HttpRequest, "body", property(no_body))
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    client.get(reverse("files"))
    token = client.cookies["csrftoken"].value
    content = bytes(range(256)) * 5000

    response = upload(client, "/Inbox/Prüfbericht 2026.bin", content, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201, response.content
    assert response.json() == {"name": "Prüfbericht 2026.bin", "path": "/Inbox/Prüfbericht 2026.bin", "size": 1280000}
    version = selectors.node_at_path(tenant=owner.tenant, path="/Inbox/Prüfbericht 2026.bin")
    assert version.size == len(content)
    assert version.author_label == owner.user.email
    assert Change.objects.for_tenant(owner.tenant).filter(action="create", path="/Inbox/Prüfbericht 2026.bin").exists()


def test_upload_without_the_csrf_token_is_refused(owner) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    assert upload(client, "/a.txt", b"a").status_code == 403
    assert live_paths(owner.tenant) == {}


def test_upload_errors_answer_the_store_message_as_json(signed_in: Client, owner) -> None:
    services.folder_create(tenant=owner.tenant, path="/Taken", acting_user=owner.user)

    onto_folder = upload(signed_in, "/Taken", b"x")
    assert onto_folder.status_code == 409
    assert onto_folder["Content-Type"] == "application/problem+json"
    assert "is a folder" in onto_folder.json()["detail"]

    bad_name = upload(signed_in, "/a/../b.txt", b"x")
    assert bad_name.status_code == 400
    assert "'.' and '..'" in bad_name.json()["detail"]

    no_path = signed_in.put(reverse("files_upload"), data=b"x", content_type="application/octet-stream")
    assert no_path.status_code == 400

    owner.tenant.quota_bytes = 10
    owner.tenant.save(update_fields=["quota_bytes"])
    over_quota = upload(signed_in, "/big.bin", b"x" * 11)
    assert over_quota.status_code == 507
    assert "quota" in over_quota.json()["detail"]

    owner.tenant.quota_bytes = None
    owner.tenant.max_file_bytes = 4
    owner.tenant.save(update_fields=["quota_bytes", "max_file_bytes"])
    too_large = upload(signed_in, "/five.bin", b"12345")
    assert too_large.status_code == 413
    assert "limit" in too_large.json()["detail"]

    assert live_paths(owner.tenant) == {"/Taken": None}
    assert signed_in.get(reverse("files_upload")).status_code == 405


def test_upload_without_length_follows_the_apis_rule(signed_in: Client, owner) -> None:
    # Over a connection whose end the server marks (gunicorn, chunked), the body is read to its end.
    chunked = upload(
        signed_in, "/chunked.bin", b"", **{"wsgi.input": io.BytesIO(b"sent in chunks"), "wsgi.input_terminated": True}
    )
    assert chunked.status_code == 201, chunked.content
    assert selectors.node_at_path(tenant=owner.tenant, path="/chunked.bin").size == len(b"sent in chunks")
    # ... bounded by the file size limit ...
    owner.tenant.max_file_bytes = 4
    owner.tenant.save(update_fields=["max_file_bytes"])
    too_large = upload(
        signed_in, "/five.bin", b"", **{"wsgi.input": io.BytesIO(b"12345"), "wsgi.input_terminated": True}
    )
    assert too_large.status_code == 413
    # ... and otherwise nothing says where it ends: 411, as a problem that says what to send.
    unmarked = upload(signed_in, "/a.bin", b"", **{"wsgi.input": io.BytesIO(b"abc")})
    assert unmarked.status_code == 411
    assert unmarked["Content-Type"] == "application/problem+json"
    assert "Content-Length" in unmarked.json()["detail"]
    assert set(live_paths(owner.tenant)) == {"/chunked.bin"}


def test_sizes_are_binary_and_say_so_on_the_page_and_in_refusals(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/scan.tif", b"x" * 1_572_864, owner.user)
    html = signed_in.get(reverse("files")).content.decode().replace("\xa0", " ")
    assert "1.5 MiB" in html
    assert not re.search(r"\d (KB|MB|GB|TB)\b", html)

    owner.tenant.max_file_bytes = 1024**2
    owner.tenant.save(update_fields=["max_file_bytes"])
    refused = upload(signed_in, "/scan-2.tif", b"x" * 1_572_864)
    assert refused.status_code == 413
    assert refused.json()["detail"] == "The file is 1.5 MiB (1,572,864 bytes); the limit is 1 MiB (1,048,576 bytes)."

    owner.tenant.max_file_bytes = None
    owner.tenant.quota_bytes = 2 * 1024**2
    owner.tenant.save(update_fields=["max_file_bytes", "quota_bytes"])
    over_quota = upload(signed_in, "/scan-3.tif", b"x" * 1_572_864)
    assert over_quota.status_code == 507
    assert over_quota.json()["detail"].startswith(
        "This upload needs 1.5 MiB (1,572,864 bytes) more but only 512 KiB (524,288 bytes) of your quota of "
        "2 MiB are free."
    )


def test_upload_needs_a_signed_in_member(client: Client, owner) -> None:
    response = upload(client, "/a.txt", b"a")
    assert response.status_code == 401
    assert "signed out" in response.json()["detail"]


def test_several_uploads_replace_and_add(signed_in: Client, owner) -> None:
    for name in ("one.txt", "two.txt", "three.txt"):
        assert upload(signed_in, f"/{name}", name.encode()).status_code == 201
    assert upload(signed_in, "/one.txt", b"one, again").status_code == 201
    assert set(live_paths(owner.tenant)) == {"/one.txt", "/two.txt", "/three.txt"}
    assert selectors.node_at_path(tenant=owner.tenant, path="/one.txt").size == len(b"one, again")


def test_page_upload_on_conflict_keep_both_and_fail(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/r/a.txt", b"one")
    kept = signed_in.generic(
        "PUT",
        f"{reverse('files_upload')}?path={quote('/r/a.txt')}&on_conflict=keep_both",
        data=b"two",
        content_type="application/octet-stream",
        HTTP_ACCEPT="application/json",
    )
    assert kept.status_code == 201
    assert kept.json() == {"name": "a (2).txt", "path": "/r/a (2).txt", "size": 3}
    refused = signed_in.generic(
        "PUT",
        f"{reverse('files_upload')}?path={quote('/r/a.txt')}&on_conflict=fail",
        data=b"three",
        content_type="application/octet-stream",
        HTTP_ACCEPT="application/json",
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:hubport:problem:name_taken"
    assert set(live_paths(owner.tenant)) == {"/r", "/r/a.txt", "/r/a (2).txt"}


def test_upload_conflicts_names_the_taken_names_of_one_folder(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/r/a.txt", b"one")
    services.folder_create(tenant=owner.tenant, path="/r/sub", acting_user=owner.user)
    url = reverse("files_upload_conflicts")
    response = signed_in.post(url, {"folder": "/r", "name": ["a.txt", "sub", "new.txt"]})
    assert response.status_code == 200
    assert response.json() == {"taken": {"a.txt": "file", "sub": "folder"}}
    # A folder that does not exist holds none of the names.
    assert signed_in.post(url, {"folder": "/elsewhere", "name": ["a.txt"]}).json() == {"taken": {}}
    no_names = signed_in.post(url, {"folder": "/r"})
    assert no_names.status_code == 400
    assert "between 1 and 5,000 names" in no_names.json()["detail"]
    assert signed_in.post(url, {"folder": "no-slash", "name": ["a"]}).status_code == 400


def test_upload_conflicts_needs_a_signed_in_member(client: Client, owner) -> None:
    response = client.post(reverse("files_upload_conflicts"), {"folder": "/", "name": ["a.txt"]})
    assert response.status_code == 401


def test_a_bulk_step_is_one_activity_entry(signed_in: Client, owner) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        put_file(owner.tenant, f"/{name}", name.encode())
    services.nodes_delete(tenant=owner.tenant, paths=["/a.txt", "/b.txt", "/c.txt"], acting_user=owner.user)
    entries = signed_in.get(reverse("activity")).context["entries"]
    newest = entries[0]
    assert newest.change.action == "delete" and newest.count == 3
    assert sorted([newest.change.path, *(other.path for other in newest.more)]) == ["/a.txt", "/b.txt", "/c.txt"]
    # The three uploads before it were three steps: three entries.
    assert [entry.change.action for entry in entries[1:4]] == ["create", "create", "create"]
    page = signed_in.get(reverse("activity")).content.decode()
    assert "and 2 more" in page


def test_a_read_only_member_zips_ticked_rows_but_cannot_delete_them(client: Client, owner, django_user_model) -> None:
    from hubs.models import Membership

    put_file(owner.tenant, "/a.txt", b"a")
    reader = django_user_model.objects.create_user(username="ro@bulk.test", email="ro@bulk.test", password="x" * 16)
    Membership.objects.create(tenant=owner.tenant, user=reader, role="read_only")
    client.force_login(reader)
    zipped = client.post(reverse("files_bulk"), {"action": "zip", "folder": "/", "pick": ["/a.txt"]})
    assert zipped.status_code == 200
    assert zipped["Content-Type"] == "application/zip"
    refused = client.post(
        reverse("files_bulk"), {"action": "delete", "folder": "/", "pick": ["/a.txt"], "confirm": "1"}
    )
    assert refused.status_code == 403
    assert selectors.node_at_path(tenant=owner.tenant, path="/a.txt")


def test_a_read_only_member_is_not_offered_what_they_may_not_do(client: Client, owner, django_user_model) -> None:
    from hubs.models import Membership

    put_file(owner.tenant, "/a.txt", b"a")
    put_file(owner.tenant, "/gone.txt", b"g")
    services.node_delete(tenant=owner.tenant, path="/gone.txt", acting_user=owner.user)
    reader = django_user_model.objects.create_user(username="ro2@bulk.test", email="ro2@bulk.test", password="x" * 16)
    Membership.objects.create(tenant=owner.tenant, user=reader, role="read_only")
    for who, offered in ((owner.user, True), (reader, False)):
        client.force_login(who)
        files = client.get(reverse("files")).content.decode()
        trash = client.get(reverse("trash")).content.decode()
        assert ("data-upload-trigger" in files) is offered
        assert ('id="dropzone"' in files) is offered
        assert ("Delete…" in files) is offered
        assert ('value="move"' in files) is offered
        assert ("Restore</button>" in trash) is offered
        assert 'value="zip"' in files  # a download is a read: offered to everyone


def test_bulk_page_actions_refuse_bad_input_with_a_message(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/a.txt", b"a")
    url = reverse("files_bulk")
    nothing = signed_in.post(url, {"action": "delete", "folder": "/"})
    assert nothing.status_code == 302
    assert texts(nothing) == ["Tick at least one item first."]
    missing = signed_in.post(url, {"action": "delete", "folder": "/", "pick": ["/a.txt", "/gone.txt"], "confirm": "1"})
    assert missing.status_code == 404  # the problem page, naming what is missing
    assert "gone.txt" in missing.content.decode()
    assert selectors.node_at_path(tenant=owner.tenant, path="/a.txt")  # nothing deleted
    bad = signed_in.post(url, {"action": "explode", "folder": "/", "pick": ["/a.txt"]})
    assert bad.status_code == 302
    restore = signed_in.post(reverse("trash_bulk_restore"), {"pick": ["x"]})
    assert restore.status_code == 302
    assert "That selection is not valid; reload the page and tick the items again." in texts(restore)


# SECTION: new folder, rename, move, delete


def test_new_folder(signed_in: Client, owner) -> None:
    services.folder_create(tenant=owner.tenant, path="/Projects", acting_user=owner.user)
    response = signed_in.post(reverse("files_folder_new"), {"parent": "/Projects", "name": "Apollo"})
    assert response.status_code == 302
    assert response["Location"] == "/files/Projects"
    assert texts(response) == ["Created the folder “Apollo”."]
    assert selectors.node_at_path(tenant=owner.tenant, path="/Projects/Apollo").kind == "folder"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a/b", "cannot contain '/'"),
        ("..", "'.' and '..'"),
        ("", "Give the new folder a name."),
        ("x" * 300, "at most 255"),
        ("bad\x01name", "U+0001, a control character"),
        ("invoice\u202etxt.exe", "U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control"),
        ("Existing", "already exists"),
    ],
)
def test_new_folder_refusals_are_messages(signed_in: Client, owner, name: str, message: str) -> None:
    services.folder_create(tenant=owner.tenant, path="/Existing", acting_user=owner.user)
    response = signed_in.post(reverse("files_folder_new"), {"parent": "/", "name": name})
    assert response.status_code == 302
    assert any(message in text for text in texts(response)), texts(response)
    assert live_paths(owner.tenant) == {"/Existing": None}


def test_new_folder_makes_missing_parents_as_the_api_does(signed_in: Client, owner) -> None:
    # One rule in the store for both edges (and uploads): like mkdir -p.
    services.folder_create(tenant=owner.tenant, path="/Gone", acting_user=owner.user)
    deleted = services.node_delete(tenant=owner.tenant, path="/Gone", acting_user=owner.user)
    response = signed_in.post(reverse("files_folder_new"), {"parent": "/Gone", "name": "New"})
    assert response.status_code == 302
    assert response["Location"] == "/files/Gone"
    assert texts(response) == ["Created the folder “New”."]
    assert live_paths(owner.tenant) == {"/Gone": None, "/Gone/New": None}
    # The folder deleted meanwhile is a new one now; the deleted one can still be restored.
    assert [item.pk for item in selectors.trash_items(tenant=owner.tenant).items] == [deleted.pk]


def test_new_folder_in_a_file_is_refused_with_a_message(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/notes.txt", b"x", owner.user)
    response = signed_in.post(reverse("files_folder_new"), {"parent": "/notes.txt", "name": "New"})
    assert response.status_code == 302
    assert texts(response) == ["/notes.txt is a file, not a folder."]
    assert set(live_paths(owner.tenant)) == {"/notes.txt"}


def test_rename(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Docs/draft.txt", b"v1", owner.user)
    put_file(owner.tenant, "/Docs/other.txt", b"v2", owner.user)

    response = signed_in.post(reverse("files_rename"), {"path": "/Docs/draft.txt", "new_name": "final.txt"})
    assert response["Location"] == "/files/Docs"
    assert texts(response) == ["Renamed “draft.txt” to “final.txt”."]
    assert set(live_paths(owner.tenant)) == {"/Docs", "/Docs/final.txt", "/Docs/other.txt"}

    conflict = signed_in.post(reverse("files_rename"), {"path": "/Docs/final.txt", "new_name": "other.txt"})
    assert conflict.status_code == 302
    assert "already exists" in texts(conflict)[-1]
    slash = signed_in.post(reverse("files_rename"), {"path": "/Docs/final.txt", "new_name": "../x"})
    assert "cannot contain '/'" in texts(slash)[-1]
    assert set(live_paths(owner.tenant)) == {"/Docs", "/Docs/final.txt", "/Docs/other.txt"}


def test_move_picker_and_move(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Inbox/invoice.pdf", b"pdf", owner.user)
    services.folder_create(tenant=owner.tenant, path="/Archive/2026", acting_user=owner.user)

    picker = signed_in.get(reverse("files_move"), {"path": "/Inbox/invoice.pdf"})
    assert picker.status_code == 200
    assert picker.context["destination"] == "/Inbox"
    assert picker.context["is_current_folder"] is True
    root = signed_in.get(reverse("files_move"), {"path": "/Inbox/invoice.pdf", "to": "/"})
    assert [folder.label for folder in root.context["subfolders"]] == ["Archive", "Inbox"]
    archive = signed_in.get(root.context["subfolders"][0].url)
    assert archive.context["destination"] == "/Archive"
    assert [folder.label for folder in archive.context["subfolders"]] == ["2026"]

    response = signed_in.post(reverse("files_move"), {"path": "/Inbox/invoice.pdf", "destination": "/Archive/2026"})
    assert response["Location"] == "/files/Inbox"
    assert texts(response) == ["Moved “invoice.pdf” to /Archive/2026."]
    assert "/Archive/2026/invoice.pdf" in live_paths(owner.tenant)


def test_moving_a_folder_into_itself_is_refused(signed_in: Client, owner) -> None:
    services.folder_create(tenant=owner.tenant, path="/A/B", acting_user=owner.user)
    picker = signed_in.get(reverse("files_move"), {"path": "/A", "to": "/A/B"})
    assert picker.context["inside_item"] is True
    assert "cannot be moved into itself" in picker.content.decode()
    root = signed_in.get(reverse("files_move"), {"path": "/A", "to": "/"})
    assert root.context["subfolders"] == [], "the folder being moved is not offered as a destination"

    response = signed_in.post(reverse("files_move"), {"path": "/A", "destination": "/A/B"})
    assert response.status_code == 302
    assert "cannot be moved into itself" in texts(response)[-1]
    assert set(live_paths(owner.tenant)) == {"/A", "/A/B"}


def test_delete_asks_first_then_moves_to_recently_deleted(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Docs/old.txt", b"old", owner.user)

    confirm = signed_in.get(reverse("files_delete"), {"path": "/Docs/old.txt"})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Delete “old.txt”?" in html and "Recently deleted" in html
    assert live_paths(owner.tenant) == {
        "/Docs": None,
        "/Docs/old.txt": selectors.node_at_path(tenant=owner.tenant, path="/Docs/old.txt").blob.sha256,
    }, "asking deletes nothing"

    response = signed_in.post(reverse("files_delete"), {"path": "/Docs/old.txt"})
    assert response["Location"] == "/files/Docs"
    assert texts(response)[-1].startswith("Deleted “old.txt”. You can restore it from Recently deleted until ")
    assert live_paths(owner.tenant) == {"/Docs": None}


def test_root_cannot_be_deleted_moved_or_renamed(signed_in: Client, owner) -> None:
    for url, data in (
        (reverse("files_delete"), {"path": "/"}),
        (reverse("files_move"), {"path": "/", "destination": "/x"}),
        (reverse("files_rename"), {"path": "/", "new_name": "x"}),
    ):
        response = signed_in.post(url, data)
        assert response.status_code == 302, url
        assert texts(response), url


# SECTION: download


def test_download_streams_the_bytes_with_a_utf8_filename(signed_in: Client, owner) -> None:
    content = b"\x00\x01binary\xff" * 1000
    version = put_file(owner.tenant, '/Berichte/Übersicht "Q1" €.pdf', content, owner.user)

    response = signed_in.get(reverse("files_download"), {"path": '/Berichte/Übersicht "Q1" €.pdf'})

    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == content
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Type"] == "application/pdf"
    assert response["ETag"] == f'"{version.blob.sha256}"'
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Ubersicht _Q1_ .pdf"; ')
    assert "filename*=UTF-8''%C3%9Cbersicht%20%22Q1%22%20%E2%82%AC.pdf" in disposition


def test_download_of_a_folder_or_nothing(signed_in: Client, owner) -> None:
    services.folder_create(tenant=owner.tenant, path="/Docs", acting_user=owner.user)
    folder = signed_in.get(reverse("files_download"), {"path": "/Docs"})
    assert folder.status_code == 302
    assert "is a folder" in texts(folder)[-1]
    missing = signed_in.get(reverse("files_download"), {"path": "/Docs/nothing.txt"})
    assert missing.status_code == 404
    assert "does not exist" in missing.content.decode()


# SECTION: recently deleted


def test_recently_deleted_lists_where_when_who_and_until_when(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Team/Notes/minutes.txt", b"minutes", owner.user)
    services.node_delete(tenant=owner.tenant, path="/Team/Notes/minutes.txt", acting_user=owner.user)
    services.node_delete(tenant=owner.tenant, path="/Team/Notes", acting_user=owner.user)

    response = signed_in.get(reverse("trash"))

    assert response.status_code == 200
    entries = response.context["entries"]
    assert [(entry.name, entry.original_path, entry.is_folder) for entry in entries] == [
        ("Notes", "/Team/Notes", True),
        ("minutes.txt", "/Team/Notes/minutes.txt", False),
    ]
    deleted = NodeVersion.objects.for_tenant(owner.tenant).get(pk=entries[1].version_id)
    assert entries[1].restorable_until == selectors.restorable_until(deleted)
    assert entries[1].deleted_by == owner.user.email
    html = response.content.decode()
    assert "Restorable until" in html and owner.user.email in html
    assert 'href="/files/Team/Notes"' in html


def test_restore_puts_it_back_and_says_where(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Docs/report.txt", b"the original", owner.user)
    services.node_delete(tenant=owner.tenant, path="/Docs/report.txt", acting_user=owner.user)
    item = signed_in.get(reverse("trash")).context["entries"][0]

    response = signed_in.post(reverse("trash_restore"), {"version_id": item.version_id})

    assert response.status_code == 302
    assert response["Location"] == reverse("trash")
    assert texts(response) == ["Restored “report.txt” to /Docs."]
    assert "/Docs/report.txt" in live_paths(owner.tenant)
    assert signed_in.get(reverse("trash")).context["entries"] == []
    again = signed_in.post(reverse("trash_restore"), {"version_id": item.version_id})
    assert again.status_code == 404
    assert "not in Recently deleted" in again.content.decode()


def test_restore_into_a_taken_name_gets_restored_suffix(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/Docs/report.txt", b"the original", owner.user)
    services.node_delete(tenant=owner.tenant, path="/Docs/report.txt", acting_user=owner.user)
    put_file(owner.tenant, "/Docs/report.txt", b"a new one", owner.user)
    item = signed_in.get(reverse("trash")).context["entries"][0]

    response = signed_in.post(reverse("trash_restore"), {"version_id": item.version_id})

    assert texts(response) == [
        "Restored “report.txt” to /Docs as “report (restored).txt”, because an item named “report.txt” is there now."
    ]
    tree = live_paths(owner.tenant)
    assert set(tree) == {"/Docs", "/Docs/report.txt", "/Docs/report (restored).txt"}
    download = signed_in.get(reverse("files_download"), {"path": "/Docs/report (restored).txt"})
    assert b"".join(download.streaming_content) == b"the original"


def test_restore_of_a_folder_whose_parent_was_deleted_remakes_the_parent(signed_in: Client, owner) -> None:
    put_file(owner.tenant, "/A/B/c.txt", b"c", owner.user)
    services.node_delete(tenant=owner.tenant, path="/A/B", acting_user=owner.user)
    services.node_delete(tenant=owner.tenant, path="/A", acting_user=owner.user)
    entries = signed_in.get(reverse("trash")).context["entries"]
    folder_b = next(entry for entry in entries if entry.name == "B")
    response = signed_in.post(reverse("trash_restore"), {"version_id": folder_b.version_id})
    assert texts(response) == ["Restored “B” to /A."]
    assert set(live_paths(owner.tenant)) == {"/A", "/A/B", "/A/B/c.txt"}


def test_recently_deleted_filters_by_name_and_loads_more(signed_in: Client, owner, monkeypatch) -> None:
    monkeypatch.setattr(trash_views, "TRASH_PAGE_SIZE", 2)
    for name in ("alpha.txt", "beta.txt", "alphabet.txt", "gamma.txt", "ALPHA-2.txt"):
        put_file(owner.tenant, f"/{name}", name.encode(), owner.user)
        services.node_delete(tenant=owner.tenant, path=f"/{name}", acting_user=owner.user)

    filtered = signed_in.get(reverse("trash"), {"q": "alpha"})
    names = [entry.name for entry in filtered.context["entries"]]
    fragment = filtered.context["next_fragment_url"]
    assert "q=alpha" in fragment
    while fragment:
        more = signed_in.get(fragment)
        names += [entry.name for entry in more.context["entries"]]
        fragment = more.context["next_fragment_url"]
    assert names == ["ALPHA-2.txt", "alphabet.txt", "alpha.txt"], "newest first, case-insensitive"

    nothing = signed_in.get(reverse("trash"), {"q": "zzz"})
    assert "Nothing deleted matches “zzz”" in nothing.content.decode()


# SECTION: activity


def test_activity_lists_who_did_what_when_and_pages(signed_in: Client, owner, monkeypatch) -> None:
    monkeypatch.setattr(activity_views, "ACTIVITY_PAGE_SIZE", 3)
    put_file(owner.tenant, "/a.txt", b"a", owner.user)
    services.node_rename(tenant=owner.tenant, path="/a.txt", new_name="b.txt", acting_user=owner.user)
    services.node_delete(tenant=owner.tenant, path="/b.txt", acting_user=owner.user)
    services.folder_create(tenant=owner.tenant, path="/New", acting_user=owner.user)

    first = signed_in.get(reverse("activity"))
    assert first.status_code == 200
    actions = [change.action for change in (entry.change for entry in first.context["entries"])]
    assert actions == ["mkdir", "delete", "rename"]
    html = first.content.decode()
    assert "Renamed" in html and "from <code>/a.txt</code>" in html and owner.user.email in html
    more = signed_in.get(first.context["next_fragment_url"])
    assert [change.action for change in (entry.change for entry in more.context["entries"])] == ["create", "provision"]
    assert more.context["next_url"] == ""


# SECTION: bad input is a message, never a 500


@pytest.mark.parametrize(
    ("url_name", "query", "status"),
    [
        ("files", {"path": "relative/path"}, 400),
        ("files", {"path": "/a/../b"}, 400),
        ("files", {"path": "/a\x00b"}, 400),
        ("files", {"order": "owner"}, 400),
        ("files", {"cursor": "x" * 5000}, 400),
        ("files_download", {}, 400),
        ("files_download", {"path": "/a//b"}, 400),
        ("files_move", {"path": "/x", "to": "/../"}, 400),
        ("trash", {"q": "x" * 300}, 400),
        ("activity", {"cursor": "y" * 3000}, 400),
    ],
)
def test_malformed_addresses_answer_400_with_the_reason(
    signed_in: Client, url_name: str, query: dict, status: int
) -> None:
    response = signed_in.get(reverse(url_name), query)
    assert response.status_code == status
    assert "That address is not valid" in response.content.decode()


@pytest.mark.parametrize("cursor", ["not-a-cursor", "d.bm9wZQ", "f.e30", "q.abc", "d.", "d.eyJ2IjoxLCJpZCI6Mn0"])
def test_malformed_listing_cursor_is_a_message(signed_in: Client, owner, cursor: str) -> None:
    put_file(owner.tenant, "/a.txt", b"a", owner.user)
    response = signed_in.get(reverse("files"), {"cursor": cursor})
    if cursor == "d.":
        assert response.status_code == 200  # an empty store cursor is the first page of folders
        return
    assert response.status_code == 302
    assert "cursor is not valid" in texts(response)[-1]
    rows = signed_in.get(reverse("files"), {"cursor": cursor, "fragment": "rows"})
    assert rows.status_code == 200
    assert "cursor is not valid" in rows.content.decode()


@pytest.mark.parametrize("url_name", ["trash", "activity"])
def test_malformed_cursor_elsewhere_is_a_message(signed_in: Client, url_name: str) -> None:
    response = signed_in.get(reverse(url_name), {"cursor": "garbage"})
    assert response.status_code == 302
    assert "cursor is not valid" in texts(response)[-1]


@pytest.mark.parametrize("version_id", ["", "abc", "0", "-1", "1e3", "9" * 30])
def test_malformed_restore_ids_are_messages(signed_in: Client, version_id: str) -> None:
    response = signed_in.post(reverse("trash_restore"), {"version_id": version_id})
    assert response.status_code == 302
    assert texts(response)


def test_unsafe_methods_and_missing_fields(signed_in: Client) -> None:
    assert signed_in.get(reverse("files_rename")).status_code == 405
    assert signed_in.get(reverse("trash_restore")).status_code == 405
    assert signed_in.post(reverse("files"), {}).status_code == 405
    for url_name in ("files_folder_new", "files_rename", "files_move", "files_delete"):
        response = signed_in.post(reverse(url_name), {})
        assert response.status_code == 302, url_name
        assert texts(response), url_name


def test_a_live_item_id_is_not_restorable(signed_in: Client, owner) -> None:
    version = put_file(owner.tenant, "/live.txt", b"x", owner.user)
    response = signed_in.post(reverse("trash_restore"), {"version_id": version.pk})
    assert response.status_code == 404


# SECTION: another tenant's paths and ids are 404, exactly as for nothing


def test_another_tenants_paths_and_ids_answer_404(signed_in: Client, owner, make_tenant) -> None:
    other = make_tenant(hub="uk", name="Other Ltd")
    put_file(other.tenant, "/Secret/plans.txt", b"secret", other.user)
    put_file(other.tenant, "/Secret/gone.txt", b"gone", other.user)
    deleted = services.node_delete(tenant=other.tenant, path="/Secret/gone.txt", acting_user=other.user)
    before = live_paths(other.tenant)

    assert signed_in.get("/files/Secret").status_code == 404
    assert signed_in.get(reverse("files"), {"path": "/Secret"}).status_code == 404
    assert signed_in.get(reverse("files_download"), {"path": "/Secret/plans.txt"}).status_code == 404
    assert signed_in.get(reverse("files_delete"), {"path": "/Secret/plans.txt"}).status_code == 404
    assert signed_in.post(reverse("files_delete"), {"path": "/Secret/plans.txt"}).status_code == 404
    assert signed_in.post(reverse("files_rename"), {"path": "/Secret/plans.txt", "new_name": "x"}).status_code == 404
    assert signed_in.get(reverse("files_move"), {"path": "/Secret/plans.txt"}).status_code == 404
    assert signed_in.post(reverse("files_move"), {"path": "/Secret/plans.txt", "destination": "/"}).status_code == 404
    assert signed_in.post(reverse("trash_restore"), {"version_id": deleted.pk}).status_code == 404
    missing_own = signed_in.post(reverse("trash_restore"), {"version_id": deleted.pk + 10_000})
    assert missing_own.status_code == 404
    # A 404 for another tenant's item reads exactly like one for something that never existed.
    theirs = signed_in.get(reverse("files_download"), {"path": "/Secret/plans.txt"}).content.decode()
    nothing = signed_in.get(reverse("files_download"), {"path": "/Nothing/plans.txt"}).content.decode()

    def main(html: str) -> str:
        return re.sub(r"/(Secret|Nothing)\b", "", html.split('<main id="main"', 1)[1].split("</main>", 1)[0])

    assert main(theirs) == main(nothing)

    assert signed_in.get(reverse("trash")).context["entries"] == []
    activity_paths = [
        change.path for change in (entry.change for entry in signed_in.get(reverse("activity")).context["entries"])
    ]
    assert not any("Secret" in path for path in activity_paths)
    # Writing to the same path makes the signed-in tenant's own file, never touches theirs.
    assert upload(signed_in, "/Secret/plans.txt", b"mine").status_code == 201
    assert live_paths(other.tenant) == before
    other_download = Client()
    other_download.force_login(other.user)
    body = other_download.get(reverse("files_download"), {"path": "/Secret/plans.txt"})
    assert b"".join(body.streaming_content) == b"secret"


def test_nav_offers_files_recently_deleted_and_activity(signed_in: Client) -> None:
    html = signed_in.get(reverse("files")).content.decode()
    for label, url in (("Files", "/files/"), ("Recently deleted", "/recently-deleted/"), ("Activity", "/activity/")):
        assert f'href="{url}"' in html and label in html
    assert 'href="/files/" aria-current="page">Files' in html
