"""Everything under chosen items of the live tree, for a zip download: each
file and folder with its path relative to the folder the items were chosen in.
Read folder by folder with one query per 500 folders, never one per file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from hubs.display import bytes_label
from snapshots.errors import InvalidPath, ZipTooLarge
from snapshots.models import Node, NodeVersion
from snapshots.paths import outermost
from snapshots.selectors import resolve, versions

if TYPE_CHECKING:
    from hubs.models import Tenant

FOLDERS_PER_QUERY = 500


@dataclass(frozen=True)
class SubtreeEntry:
    relative: tuple[str, ...]  # the path under the common folder of the chosen items
    version: NodeVersion


@dataclass(frozen=True)
class Subtree:
    entries: list[SubtreeEntry]
    files: int
    bytes: int


def live_subtrees(*, tenant: Tenant, paths: Sequence[str]) -> Subtree:
    """The chosen items and all they hold, in path order; a folder's entry
    comes before what it holds (so an empty folder is kept too)."""
    items = outermost(paths)
    if not items:
        raise InvalidPath("Choose at least one item.")
    common = _common_folder(items) if [] not in items else []
    entries: list[SubtreeEntry] = []
    folders: dict[int, tuple[str, ...]] = {}
    for names in items:
        version = resolve(tenant=tenant, names=names)[-1]
        relative = tuple(names[len(common) :])
        if relative:  # the root itself (everything) has no entry of its own
            entries.append(SubtreeEntry(relative=relative, version=version))
        if version.kind == Node.Kind.FOLDER:
            folders[version.node_id] = relative
    while folders:
        batch = dict(list(folders.items())[:FOLDERS_PER_QUERY])
        for node_id in batch:
            del folders[node_id]
        children = (
            versions(tenant=tenant)
            .select_related("blob")
            .filter(valid_to__isnull=True, parent_id__in=list(batch))
            .order_by("parent_id", "name")
        )
        for child in children:
            assert child.parent_id is not None
            relative = (*batch[child.parent_id], child.name)
            entries.append(SubtreeEntry(relative=relative, version=child))
            if child.kind == Node.Kind.FOLDER:
                folders[child.node_id] = relative
    entries.sort(key=lambda entry: entry.relative)
    files = [entry for entry in entries if entry.version.kind == Node.Kind.FILE]
    return Subtree(entries=entries, files=len(files), bytes=sum(entry.version.size for entry in files))


def zip_subtrees(*, tenant: Tenant, paths: Sequence[str]) -> Subtree:
    """``live_subtrees`` for one zip download, refused past ``HUBPORT_ZIP_MAX_BYTES``."""
    subtree = live_subtrees(tenant=tenant, paths=paths)
    limit = settings.HUBPORT_ZIP_MAX_BYTES
    if subtree.bytes > limit:
        raise ZipTooLarge(
            f"These items hold {bytes_label(subtree.bytes, exact=True)} in {subtree.files:,} files; one zip holds at "
            f"most {bytes_label(limit)}. Download fewer items, or their folders one at a time."
        )
    return subtree


def _common_folder(items: list[list[str]]) -> list[str]:
    """The deepest folder holding every chosen item (the root for items in several top folders)."""
    parents = [names[:-1] for names in items]
    common = parents[0]
    for names in parents[1:]:
        depth = 0
        while depth < min(len(common), len(names)) and common[depth] == names[depth]:
            depth += 1
        common = common[:depth]
    return common
