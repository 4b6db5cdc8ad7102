"""URLs and display rows of the file pages: folder links, breadcrumbs, listed entries and sort links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.urls import reverse

from hubs.models import Tenant
from snapshots.models import Change, Node, NodeVersion
from snapshots.paths import join_path, split_path
from snapshots.selectors import live_usage
from snapshots.selectors.trash import subtree_bytes_of

SORT_COLUMNS = ("name", "size", "modified")
# First click on a column: names A to Z, biggest first, newest first.
SORT_FIRST_DIRECTION = {"name": "name", "size": "-size", "modified": "-modified"}


def storage_meter(tenant: Tenant) -> dict[str, object]:
    """Live files and bytes against the quota, for the files page and the home page."""
    usage = live_usage(tenant=tenant)
    quota = tenant.effective_quota_bytes
    return {
        "usage": usage,
        "quota_bytes": quota,
        "usage_percent": min(100, round(usage.live_bytes * 100 / quota, 1)) if quota else 100,
    }


def folder_url(path: str, **query: str) -> str:
    names = split_path(path)
    url = reverse("files_folder", kwargs={"subpath": "/".join(names)}) if names else reverse("files")
    query = {key: value for key, value in query.items() if value}
    return f"{url}?{urlencode(query)}" if query else url


def with_query(url_name: str, **query: str) -> str:
    query = {key: value for key, value in query.items() if value}
    url = reverse(url_name)
    return f"{url}?{urlencode(query)}" if query else url


def parent_path(path: str) -> str:
    return join_path(split_path(path)[:-1])


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str


def breadcrumbs(path: str) -> list[Crumb]:
    names = split_path(path)
    crumbs = [Crumb(label="Files", url=folder_url("/"))]
    for depth, name in enumerate(names):
        crumbs.append(Crumb(label=name, url=folder_url(join_path(names[: depth + 1]))))
    return crumbs


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    is_folder: bool
    size: int
    modified_at: datetime
    modified_by: str
    url: str


def subtree_bytes(tenant: Tenant, versions: list[NodeVersion]) -> dict[int, int]:
    """A folder's size is its subtree's: the store keeps it on the node, exact, O(1) to read."""
    folder_ids = [version.node_id for version in versions if version.kind == Node.Kind.FOLDER]
    return subtree_bytes_of(tenant=tenant, node_ids=folder_ids)


def entries_of(
    folder_path: str,
    versions: list[NodeVersion],
    *,
    url_of: Callable[[str, bool], str],
    folder_sizes: dict[int, int] | None = None,
) -> list[Entry]:
    """The rows of one folder listing, live or as it was: ``url_of(path, is_folder)``
    says where a row leads; a folder's size is its subtree's where ``folder_sizes``
    knows it (the live tree), else the version's own."""
    prefix = split_path(folder_path)
    rows = []
    for version in versions:
        path = join_path([*prefix, version.name])
        is_folder = version.kind == Node.Kind.FOLDER
        size = folder_sizes.get(version.node_id, 0) if is_folder and folder_sizes is not None else version.size
        rows.append(
            Entry(
                name=version.name,
                path=path,
                is_folder=is_folder,
                size=size,
                modified_at=version.changed_at,
                modified_by=version.author_label or "Hubport",
                url=url_of(path, is_folder),
            )
        )
    return rows


def folder_entries(tenant: Tenant, folder_path: str, versions: list[NodeVersion]) -> list[Entry]:
    """The live tree's rows: folders open in the file manager, files download."""
    return entries_of(
        folder_path,
        versions,
        url_of=lambda path, is_folder: folder_url(path) if is_folder else with_query("files_download", path=path),
        folder_sizes=subtree_bytes(tenant, versions),
    )


@dataclass(frozen=True)
class SortLink:
    column: str
    label: str
    url: str
    aria_sort: str


def sort_links(path: str, order: str) -> list[SortLink]:
    labels = {"name": "Name", "size": "Size", "modified": "Modified"}
    links = []
    for column in SORT_COLUMNS:
        if order.lstrip("-") == column:
            target = column if order.startswith("-") else f"-{column}"
            aria_sort = "descending" if order.startswith("-") else "ascending"
        else:
            target, aria_sort = SORT_FIRST_DIRECTION[column], "none"
        links.append(
            SortLink(column=column, label=labels[column], url=folder_url(path, order=target), aria_sort=aria_sort)
        )
    return links


@dataclass(frozen=True)
class ActivityEntry:
    """One line of the activity log: a change, or several of one kind made in
    one step (a bulk move, delete or restore), shown together."""

    change: Change
    more: list[Change]

    @property
    def count(self) -> int:
        return 1 + len(self.more)


def activity_entries(changes: list[Change]) -> list[ActivityEntry]:
    """Consecutive changes of one step and one kind become one entry; a restore
    job's rows stay apart (each links to its job)."""
    entries: list[ActivityEntry] = []
    for change in changes:
        last = entries[-1].change if entries else None
        if (
            last is not None
            and last.seq == change.seq
            and last.action == change.action
            and last.restore_job_id is None
            and change.restore_job_id is None
        ):
            entries[-1].more.append(change)
        else:
            entries.append(ActivityEntry(change=change, more=[]))
    return entries
