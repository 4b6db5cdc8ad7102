"""Writes to the versioned store.

Every function names its tenant first and makes its change in one transaction
on the tenant's hub database: it locks the tenant clock, bumps it, closes the
current version row of what it changes and opens a new one, keeps the subtree
counters of the ancestors exact, and writes the Change row (the activity log).
Renaming, moving or deleting a folder writes O(1) version rows: descendants
follow their parent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from hubs.display import bytes_label
from hubs.routing import hub_database_alias
from snapshots import selectors
from snapshots.blobs import (
    BlobVanished,
    ReadableStream,
    SpooledUpload,
    blob_claim,
    blob_discard_bytes,
    blob_exists,
    blob_write_bytes,
    new_generation,
    spooled_upload,
)
from snapshots.errors import (
    InvalidMove,
    InvalidPath,
    NameConflict,
    NotFound,
    NotRestorable,
    PreconditionFailed,
    QuotaExceeded,
    WrongKind,
)
from snapshots.models import Blob, Change, Node, NodeVersion, TenantClock
from snapshots.paths import join_path, split_path, validate_name

if TYPE_CHECKING:
    from datetime import datetime

    from hubs.models import Tenant
    from portal.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the customer's activity log shows it."""

    user_id: int | None
    label: str
    by_support: bool = False


def actor_for(user: User | None, *, by_support: bool = False) -> Actor:
    if user is None:
        return Actor(user_id=None, label="Hubport" if not by_support else "Hubport support", by_support=by_support)
    label = "Hubport support" if by_support else (user.email or user.get_username())
    return Actor(user_id=user.pk, label=label, by_support=by_support)


@dataclass
class ChangeStep:
    """One step of the tenant clock, open inside its transaction."""

    tenant: Tenant
    clock: TenantClock
    seq: int
    now: datetime
    actor: Actor
    changes: list[Change] = field(default_factory=list)
    wrote_rows: bool = False

    def record(self, action: str, *, node_id: int | None, path: str, previous_path: str = "") -> None:
        self.changes.append(
            Change(
                tenant_id=self.tenant.pk,
                seq=self.seq,
                at=self.now,
                action=action,
                actor_user_id=self.actor.user_id,
                actor_label=self.actor.label,
                by_support=self.actor.by_support,
                node_id=node_id,
                path=path,
                previous_path=previous_path,
            )
        )


@contextmanager
def change_step(*, tenant: Tenant, actor: Actor) -> Iterator[ChangeStep]:
    """Open a transaction on the tenant's hub, lock and bump its clock.

    The clock row lock serialises a tenant's changes (on SQLite the IMMEDIATE
    transaction mode does the same), so path checks made inside the step hold
    until it commits. The step's Change rows share one sequence number; the
    first one is the step's clock entry.
    """
    alias = hub_database_alias(tenant.hub_id)
    with transaction.atomic(using=alias):
        clock = TenantClock.objects.for_tenant(tenant).select_for_update().get()
        now = timezone.now()
        step = ChangeStep(tenant=tenant, clock=clock, seq=clock.seq + 1, now=now, actor=actor)
        yield step
        if not step.changes and not step.wrote_rows:
            return  # nothing changed: the clock is not bumped
        TenantClock.objects.for_tenant(tenant).filter(pk=clock.pk).update(seq=step.seq)
        Change.objects.for_tenant(tenant).bulk_create(step.changes)


def _bump_counters(step: ChangeStep, node_ids: list[int], *, files: int, size: int) -> None:
    if not node_ids or (files == 0 and size == 0):
        return
    Node.objects.for_tenant(step.tenant).filter(pk__in=node_ids).update(
        subtree_files=F("subtree_files") + files, subtree_bytes=F("subtree_bytes") + size
    )


def _close(step: ChangeStep, version: NodeVersion, *, action: str, to_trash: bool = False) -> None:
    version.valid_to = step.seq
    version.closed_at = step.now
    version.closed_by_user_id = step.actor.user_id
    version.closed_by_label = step.actor.label
    version.closed_by_action = action
    version.in_trash = to_trash
    version.save(
        update_fields=[
            "valid_to",
            "closed_at",
            "closed_by_user_id",
            "closed_by_label",
            "closed_by_action",
            "in_trash",
        ]
    )


def _open(
    step: ChangeStep, *, node: Node | int, parent_id: int, name: str, kind: str, blob: Blob | None = None, size: int = 0
) -> NodeVersion:
    node_id = node if isinstance(node, int) else node.pk
    try:
        with transaction.atomic(using=hub_database_alias(step.tenant.hub_id)):
            return NodeVersion.objects.for_tenant(step.tenant).create(
                node_id=node_id,
                parent_id=parent_id,
                name=name,
                kind=kind,
                blob=blob,
                size=size,
                valid_from=step.seq,
                changed_at=step.now,
                author_user_id=step.actor.user_id,
                author_label=step.actor.label,
            )
    except IntegrityError as exc:
        # The unique live-name constraint is the last word on names.
        raise NameConflict(f"An item named {name!r} already exists there.") from exc


def _ensure_folders(step: ChangeStep, names: list[str]) -> list[NodeVersion]:
    """The chain of live folder versions for ``names``, making missing ones."""
    chain = [selectors.root_version(tenant=step.tenant)]
    for depth, name in enumerate(names):
        child = selectors.live_child(tenant=step.tenant, parent_id=chain[-1].node_id, name=name)
        if child is None:
            node = Node.objects.for_tenant(step.tenant).create(kind=Node.Kind.FOLDER, created_at=step.now)
            child = _open(step, node=node, parent_id=chain[-1].node_id, name=name, kind=Node.Kind.FOLDER)
            step.record(Change.Action.MKDIR, node_id=node.pk, path=join_path(names[: depth + 1]))
        elif child.kind != Node.Kind.FOLDER:
            raise WrongKind(f"{join_path(names[: depth + 1])} is a file, not a folder.")
        chain.append(child)
    return chain


def _ancestor_ids(chain: list[NodeVersion]) -> list[int]:
    return [version.node_id for version in chain]


# ---------------------------------------------------------------- provisioning


def store_provision(*, tenant: Tenant) -> TenantClock:
    """Make the tenant's space in its hub: its clock and its root folder.

    Idempotent: a second call (a retried task, the repair on next use, two
    racing callers) finds the clock and returns it.
    """
    existing = TenantClock.objects.for_tenant(tenant).first()
    if existing is not None:
        return existing
    alias = hub_database_alias(tenant.hub_id)
    now = timezone.now()
    try:
        with transaction.atomic(using=alias):
            root = Node.objects.for_tenant(tenant).create(kind=Node.Kind.FOLDER, created_at=now)
            clock = TenantClock.objects.for_tenant(tenant).create(seq=1, root=root, provisioned_at=now)
            NodeVersion.objects.for_tenant(tenant).create(
                node=root, parent=None, name="", kind=Node.Kind.FOLDER, valid_from=1, changed_at=now
            )
            Change.objects.for_tenant(tenant).create(seq=1, at=now, action=Change.Action.PROVISION)
    except IntegrityError:
        # Another caller provisioned the tenant between our check and our insert.
        clock = TenantClock.objects.for_tenant(tenant).first()
        if clock is None:
            raise
    return clock


# ---------------------------------------------------------------- folders


def folder_create(*, tenant: Tenant, path: str, acting_user: User | None, exist_ok: bool = False) -> NodeVersion:
    """Make a folder, and any missing folders on the way (like ``mkdir -p``)."""
    names = split_path(path)
    if not names:
        raise NameConflict("The root folder always exists.")
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        parents = _ensure_folders(step, names[:-1])
        existing = selectors.live_child(tenant=tenant, parent_id=parents[-1].node_id, name=names[-1])
        if existing is not None:
            if exist_ok and existing.kind == Node.Kind.FOLDER:
                return existing
            raise NameConflict(f"{join_path(names)} already exists.")
        node = Node.objects.for_tenant(tenant).create(kind=Node.Kind.FOLDER, created_at=step.now)
        version = _open(step, node=node, parent_id=parents[-1].node_id, name=names[-1], kind=Node.Kind.FOLDER)
        step.record(Change.Action.MKDIR, node_id=node.pk, path=join_path(names))
        return version


# ---------------------------------------------------------------- files


def file_write(
    *,
    tenant: Tenant,
    path: str,
    stream: ReadableStream,
    content_length: int | None,
    acting_user: User | None,
    if_match: str | None = None,
) -> NodeVersion:
    """Create or replace a file from a byte stream, making missing folders.

    Refusals that need no bytes (a folder in the way, a stale ``if_match``, a
    body over the size limit or the quota) happen before the body is read. The
    bytes are spooled and hashed, written to both facilities of the hub, and
    only then is the version row committed, so a failure at any point leaves
    no visible file.
    """
    names = split_path(path)
    if not names:
        raise InvalidPath("/ is the root folder; give a file path such as /notes.txt.")
    existing = _check_file_target(tenant=tenant, names=names, if_match=if_match)
    replaced_size = existing.size if existing is not None else 0
    if content_length is not None:
        _check_quota(tenant=tenant, additional=content_length - replaced_size)

    with spooled_upload(
        stream=stream, content_length=content_length, max_bytes=tenant.effective_max_file_bytes, tenant=tenant
    ) as spooled:
        _check_quota(tenant=tenant, additional=spooled.size - replaced_size)
        if existing is not None and existing.blob is not None and existing.blob.sha256 == spooled.sha256:
            return existing  # same bytes as the current version: no new version
        written: str | None = None
        needs_replication = False
        # Two attempts at most: the second runs only if the collector removed the
        # blob row we meant to reuse, and then we write the bytes ourselves.
        for _attempt in range(2):
            if written is None and not blob_exists(tenant=tenant, sha256=spooled.sha256):
                written = new_generation()
                needs_replication = blob_write_bytes(tenant=tenant, spooled=spooled, generation=written)
            try:
                version = _file_write_step(
                    tenant=tenant,
                    names=names,
                    spooled=spooled,
                    generation=written,
                    needs_replication=needs_replication,
                    acting_user=acting_user,
                    if_match=if_match,
                )
            except BlobVanished:
                continue
            except BaseException:
                if written is not None:
                    blob_discard_bytes(tenant=tenant, sha256=spooled.sha256, generation=written)
                raise
            assert version.blob is not None  # _file_write_step always claims a blob
            if written is not None and version.blob.generation != written:
                blob_discard_bytes(tenant=tenant, sha256=spooled.sha256, generation=written)
            return version
        raise BlobVanished  # pragma: no cover - the second attempt always has bytes


def _file_write_step(
    *,
    tenant: Tenant,
    names: list[str],
    spooled: SpooledUpload,
    generation: str | None,
    needs_replication: bool,
    acting_user: User | None,
    if_match: str | None,
) -> NodeVersion:
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        parents = _ensure_folders(step, names[:-1])
        current = selectors.live_child(tenant=tenant, parent_id=parents[-1].node_id, name=names[-1])
        if current is not None and current.kind != Node.Kind.FILE:
            raise WrongKind(f"{join_path(names)} is a folder; a file cannot replace it.")
        _check_if_match(current, if_match, names)
        size_delta = spooled.size - (current.size if current else 0)
        _check_quota(tenant=tenant, additional=size_delta)
        blob = blob_claim(tenant=tenant, spooled=spooled, generation=generation, needs_replication=needs_replication)
        if current is None:
            node = Node.objects.for_tenant(tenant).create(
                kind=Node.Kind.FILE, created_at=step.now, subtree_files=1, subtree_bytes=spooled.size
            )
            action = Change.Action.CREATE
            files_delta = 1
        else:
            node = current.node
            _close(step, current, action=Change.Action.REPLACE)
            Node.objects.for_tenant(tenant).filter(pk=node.pk).update(subtree_bytes=spooled.size)
            action = Change.Action.REPLACE
            files_delta = 0
        version = _open(
            step,
            node=node,
            parent_id=parents[-1].node_id,
            name=names[-1],
            kind=Node.Kind.FILE,
            blob=blob,
            size=spooled.size,
        )
        _bump_counters(step, _ancestor_ids(parents), files=files_delta, size=size_delta)
        step.record(action, node_id=node.pk, path=join_path(names))
        return version


def _check_file_target(*, tenant: Tenant, names: list[str], if_match: str | None) -> NodeVersion | None:
    try:
        chain = selectors.resolve(tenant=tenant, names=names[:-1])
    except NotFound:
        chain = None  # folders on the way are made when the file is written
    current = None
    if chain is not None:
        if chain[-1].kind != Node.Kind.FOLDER:
            raise WrongKind(f"{join_path(names[:-1])} is a file, not a folder.")
        current = selectors.live_child(tenant=tenant, parent_id=chain[-1].node_id, name=names[-1])
    if current is not None and current.kind != Node.Kind.FILE:
        raise WrongKind(f"{join_path(names)} is a folder; a file cannot replace it.")
    _check_if_match(current, if_match, names)
    return current


def _check_if_match(current: NodeVersion | None, if_match: str | None, names: list[str]) -> None:
    if if_match is None:
        return
    current_sha = current.blob.sha256 if current is not None and current.blob is not None else None
    if current_sha != if_match:
        raise PreconditionFailed(
            f"{join_path(names)} has changed since you read it (its sha256 is no longer {if_match}). "
            "Fetch it again and retry."
        )


def _check_quota(*, tenant: Tenant, additional: int) -> None:
    if additional <= 0:
        return
    used = selectors.live_usage(tenant=tenant).live_bytes
    quota = tenant.effective_quota_bytes
    if used + additional > quota:
        raise QuotaExceeded(
            f"This upload needs {bytes_label(additional, exact=True)} more but only "
            f"{bytes_label(max(quota - used, 0), exact=True)} of your quota of {bytes_label(quota)} are free. "
            "Delete files or ask your administrator for more space."
        )


# ---------------------------------------------------------------- move, rename, delete


def node_move(*, tenant: Tenant, from_path: str, to_path: str, acting_user: User | None) -> NodeVersion:
    """Move and/or rename a file or folder to the full path ``to_path``.

    The destination's parent folder must exist; the destination name must be
    free. A folder moves with everything in it in one version row.
    """
    source_names = split_path(from_path)
    target_names = split_path(to_path)
    if not source_names:
        raise InvalidMove("The root folder cannot be moved or renamed.")
    if not target_names:
        raise InvalidMove("Nothing can be moved to / itself; give the full new path, e.g. /Archive/report.pdf.")
    if target_names[: len(source_names)] == source_names and len(target_names) > len(source_names):
        raise InvalidMove("A folder cannot be moved into itself or into one of its own folders.")
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        source_chain = selectors.resolve(tenant=tenant, names=source_names)
        current = source_chain[-1]
        if target_names == source_names:
            return current
        try:
            target_parents = selectors.resolve(tenant=tenant, names=target_names[:-1])
        except NotFound as exc:
            raise NotFound(f"The destination folder {join_path(target_names[:-1])} does not exist.") from exc
        target_parent = target_parents[-1]
        if target_parent.kind != Node.Kind.FOLDER:
            raise WrongKind(f"{join_path(target_names[:-1])} is a file, not a folder.")
        if current.node_id in _ancestor_ids(target_parents):
            raise InvalidMove("A folder cannot be moved into itself or into one of its own folders.")
        if selectors.live_child(tenant=tenant, parent_id=target_parent.node_id, name=target_names[-1]) is not None:
            raise NameConflict(f"{join_path(target_names)} already exists.")
        same_parent = target_parent.node_id == current.parent_id
        action = Change.Action.RENAME if same_parent else Change.Action.MOVE
        _close(step, current, action=action)
        version = _open(
            step,
            node=current.node_id,
            parent_id=target_parent.node_id,
            name=target_names[-1],
            kind=current.kind,
            blob=current.blob,
            size=current.size,
        )
        if not same_parent:
            node = Node.objects.for_tenant(tenant).get(pk=current.node_id)
            _bump_counters(step, _ancestor_ids(source_chain[:-1]), files=-node.subtree_files, size=-node.subtree_bytes)
            _bump_counters(step, _ancestor_ids(target_parents), files=node.subtree_files, size=node.subtree_bytes)
        step.record(
            action, node_id=current.node_id, path=join_path(target_names), previous_path=join_path(source_names)
        )
        return version


def node_rename(*, tenant: Tenant, path: str, new_name: str, acting_user: User | None) -> NodeVersion:
    names = split_path(path)
    if not names:
        raise InvalidMove("The root folder cannot be renamed.")
    return node_move(
        tenant=tenant,
        from_path=path,
        to_path=join_path([*names[:-1], validate_name(new_name)]),
        acting_user=acting_user,
    )


def node_delete(*, tenant: Tenant, path: str, acting_user: User | None) -> NodeVersion:
    """Delete a file or folder: it goes to Recently deleted for the retention period."""
    names = split_path(path)
    if not names:
        raise InvalidPath("The root folder cannot be deleted; delete what is in it instead.")
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        chain = selectors.resolve(tenant=tenant, names=names)
        current = chain[-1]
        node = Node.objects.for_tenant(tenant).get(pk=current.node_id)
        _close(step, current, action=Change.Action.DELETE, to_trash=True)
        _bump_counters(step, _ancestor_ids(chain[:-1]), files=-node.subtree_files, size=-node.subtree_bytes)
        step.record(Change.Action.DELETE, node_id=node.pk, path=join_path(names))
        return current


# ---------------------------------------------------------------- recently deleted


def trash_restore(
    *, tenant: Tenant, version_id: int, acting_user: User | None, by_support: bool = False
) -> NodeVersion:
    """Bring a deleted file or folder back to where it was.

    Missing folders on its original path are made again; a name taken in the
    meantime gets " (restored)" (then " (restored 2)", ...). A folder comes
    back with everything that was in it when it was deleted.
    """
    with change_step(tenant=tenant, actor=actor_for(acting_user, by_support=by_support)) as step:
        deleted = (
            NodeVersion.objects.for_tenant(tenant).select_related("blob").filter(pk=version_id, in_trash=True).first()
        )
        if deleted is None:
            raise NotFound("That item is not in Recently deleted (it may have been restored or expired).")
        if selectors.live_version(tenant=tenant, node_id=deleted.node_id) is not None:
            raise NotRestorable("That item is already back.")
        node = Node.objects.for_tenant(tenant).get(pk=deleted.node_id)
        _check_quota(tenant=tenant, additional=node.subtree_bytes)
        original_names = selectors.path_names_as_of(tenant=tenant, node_id=deleted.node_id, seq=deleted.valid_to - 1)
        parents = _ensure_folders(step, original_names[:-1])
        name = selectors.free_name(tenant=tenant, parent_id=parents[-1].node_id, name=deleted.name, suffix="restored")
        deleted.in_trash = False
        deleted.save(update_fields=["in_trash"])
        version = _open(
            step,
            node=deleted.node_id,
            parent_id=parents[-1].node_id,
            name=name,
            kind=deleted.kind,
            blob=deleted.blob,
            size=deleted.size,
        )
        _bump_counters(step, _ancestor_ids(parents), files=node.subtree_files, size=node.subtree_bytes)
        step.record(
            Change.Action.RESTORE,
            node_id=node.pk,
            path=join_path([*original_names[:-1], name]),
        )
        return version


# ---------------------------------------------------------------- purge (support)

PURGED_PATH = "(purged)"


@dataclass(frozen=True)
class PurgeResult:
    change_id: int
    path: str
    versions: int
    blobs: int
    blob_bytes: int


def node_purge(*, tenant: Tenant, path: str, acting_user: User | None, reason: str) -> PurgeResult:
    """Remove a file or folder from all history at once (an erasure request, a
    secret uploaded by mistake): every version of it and of what it holds, its
    blobs in both facilities where nothing else uses them, and its names in
    the activity log. Support only; the written reason is kept with the
    hub-side record (a PURGE change), which the control-plane audit points to.

    ``path`` is a live item, or else the most recently deleted item of that path.
    """
    from snapshots.blobs import blob_discard_bytes
    from snapshots.selectors_trash import trash_item_at_path

    if not reason.strip():
        raise InvalidPath("A purge needs a written reason.")
    names = split_path(path)
    if not names:
        raise InvalidPath("The root folder cannot be purged.")
    actor = actor_for(acting_user, by_support=True)
    versions_of = NodeVersion.objects.for_tenant(tenant)
    with change_step(tenant=tenant, actor=actor) as step:
        try:
            chain = selectors.resolve(tenant=tenant, names=names)
            target = chain[-1]
            live_ancestors = _ancestor_ids(chain[:-1])
        except NotFound:
            target = trash_item_at_path(tenant=tenant, path=path)
            live_ancestors = []
        doomed = {target.node_id}
        frontier = {target.node_id}
        while frontier:
            below = set(
                # What is in it now (open rows) and what was deleted from inside it
                # (its last row is in Recently deleted); not what moved out of it.
                versions_of.filter(parent_id__in=list(frontier))
                .filter(Q(valid_to__isnull=True) | Q(in_trash=True))
                .values_list("node_id", flat=True)
            )
            frontier = below - doomed
            doomed |= frontier
        node = Node.objects.for_tenant(tenant).get(pk=target.node_id)
        if live_ancestors:
            _bump_counters(step, live_ancestors, files=-node.subtree_files, size=-node.subtree_bytes)
        doomed_list = sorted(doomed)
        blob_ids = set(
            versions_of.filter(node_id__in=doomed_list, blob__isnull=False).values_list("blob_id", flat=True)
        )
        removed_versions = versions_of.filter(node_id__in=doomed_list).count()
        versions_of.filter(node_id__in=doomed_list).delete()
        # Closed rows of items that moved out long ago still name a doomed folder as parent.
        versions_of.filter(parent_id__in=doomed_list).delete()
        Node.objects.for_tenant(tenant).filter(pk__in=doomed_list).delete()
        still_used = set(versions_of.filter(blob_id__in=blob_ids).values_list("blob_id", flat=True))
        purged_blobs = list(
            Blob.objects.for_tenant(tenant)
            .filter(pk__in=blob_ids - still_used)
            .values_list("pk", "sha256", "generation", "size")
        )
        Blob.objects.for_tenant(tenant).filter(pk__in=[row[0] for row in purged_blobs]).delete()
        purged_path = join_path(names)
        changes = Change.objects.for_tenant(tenant)
        changes.filter(node_id__in=doomed_list).update(path=PURGED_PATH, previous_path="")
        # Steps that name the item by path only (a restore of its folder, say).
        for field_name in ("path", "previous_path"):
            under = Q(**{field_name: purged_path}) | Q(**{f"{field_name}__startswith": purged_path + "/"})
            changes.filter(under).update(**{field_name: PURGED_PATH})
        step.record(Change.Action.PURGE, node_id=None, path=join_path(names))
        step.changes[-1].detail = reason.strip()

    def discard() -> None:
        for _, sha256, generation, _ in purged_blobs:
            blob_discard_bytes(tenant=tenant, sha256=sha256, generation=generation)

    discard()  # after the commit: the rows are gone, the bytes go at once
    record = Change.objects.for_tenant(tenant).filter(action=Change.Action.PURGE).order_by("-id").first()
    assert record is not None
    return PurgeResult(
        change_id=record.pk,
        path=join_path(names),
        versions=removed_versions,
        blobs=len(purged_blobs),
        blob_bytes=sum(row[3] for row in purged_blobs),
    )


# ---------------------------------------------------------------- versions


def version_restore(*, tenant: Tenant, version_id: int, acting_user: User | None) -> NodeVersion:
    """Make an earlier version of a file its current content (no bytes copied).

    A live file gets a new version with the old content, in place. A deleted
    file comes back where it last was (a name taken meanwhile gets
    " (restored)"), with that version's content.
    """
    chosen = (
        NodeVersion.objects.for_tenant(tenant)
        .select_related("blob")
        .filter(pk=version_id, kind=Node.Kind.FILE)
        .filter(Q(valid_to__isnull=True) | Q(closed_at__gte=selectors.retention_start()))
        .first()
    )
    if chosen is None:
        raise NotFound(f"There is no file version {version_id} in the last {settings.SNAPSHOT_RETENTION_DAYS} days.")
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        current = selectors.live_version(tenant=tenant, node_id=chosen.node_id)
        if current is not None:
            chain = selectors.resolve(
                tenant=tenant, names=selectors.path_names_as_of(tenant=tenant, node_id=chosen.node_id, seq=None)
            )
            if current.blob_id == chosen.blob_id:
                return current
            _check_quota(tenant=tenant, additional=chosen.size - current.size)
            _close(step, current, action=Change.Action.RESTORE)
            parent_id, name, parents = current.parent_id, current.name, chain[:-1]
            size_delta, files_delta = chosen.size - current.size, 0
        else:
            last = NodeVersion.objects.for_tenant(tenant).filter(node_id=chosen.node_id).order_by("-valid_from").first()
            assert last is not None and last.valid_to is not None
            _check_quota(tenant=tenant, additional=chosen.size)
            names = selectors.path_names_as_of(tenant=tenant, node_id=chosen.node_id, seq=last.valid_to - 1)
            parents = _ensure_folders(step, names[:-1])
            parent_id = parents[-1].node_id
            name = selectors.free_name(tenant=tenant, parent_id=parent_id, name=last.name, suffix="restored")
            NodeVersion.objects.for_tenant(tenant).filter(node_id=chosen.node_id, in_trash=True).update(in_trash=False)
            size_delta, files_delta = chosen.size, 1
        assert parent_id is not None  # a file always has a folder
        version = _open(
            step,
            node=chosen.node_id,
            parent_id=parent_id,
            name=name,
            kind=Node.Kind.FILE,
            blob=chosen.blob,
            size=chosen.size,
        )
        Node.objects.for_tenant(tenant).filter(pk=chosen.node_id).update(subtree_files=1, subtree_bytes=chosen.size)
        _bump_counters(step, _ancestor_ids(parents), files=files_delta, size=size_delta)
        step.record(
            Change.Action.RESTORE,
            node_id=chosen.node_id,
            path=selectors.path_of(tenant=tenant, node_id=parent_id).rstrip("/") + "/" + name,
        )
        return version
