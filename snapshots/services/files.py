"""Files and folders: provisioning a tenant's space, making folders, writing
files, moving, renaming and deleting."""

from __future__ import annotations

from collections import defaultdict
from enum import StrEnum
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
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
    commit_outcome_unknown,
    new_generation,
    spooled_upload,
    upload_length_check,
)
from snapshots.errors import (
    InvalidMove,
    InvalidPath,
    NameConflict,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    WrongKind,
)
from snapshots.models import Change, Node, NodeVersion, TenantClock
from snapshots.paths import copy_name, join_path, split_path, validate_name
from snapshots.selectors.lookup import PathLookup, live_rows, path_lookup, subtree_counters
from snapshots.services.dav_state import dav_locks_refuse, dav_state_follow
from snapshots.services.kernel import (
    ChangeStep,
    NewVersion,
    actor_for,
    chain_parents,
    change_step,
    counters_move,
    folders_ensure,
    nodes_create,
    versions_close,
    versions_open,
)

if TYPE_CHECKING:
    from hubs.models import Tenant
    from portal.models import User

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
    # One statement; the locks are read only when the tenant has any.
    lookup = path_lookup(tenant=tenant, names=names)
    added = [lookup.first_new] if lookup.first_new is not None else []
    dav_locks_refuse(tenant=tenant, paths=[join_path(names)], members=added, any_locks=lookup.dav_locked)
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        parents = folders_ensure(step, names[:-1])
        existing = selectors.live_child(tenant=tenant, parent_id=parents[-1].node_id, name=names[-1])
        if existing is not None:
            if exist_ok and existing.kind == Node.Kind.FOLDER:
                return existing
            raise NameConflict(f"{join_path(names)} already exists.")
        [node_id] = nodes_create(step, kinds=[Node.Kind.FOLDER])
        [version] = versions_open(
            step, [NewVersion(node_id=node_id, parent_id=parents[-1].node_id, name=names[-1], kind=Node.Kind.FOLDER)]
        )
        step.record(Change.Action.MKDIR, node_id=node_id, path=join_path(names))
        return version


# ---------------------------------------------------------------- files


# A body this small is written to both facilities without asking first whether
# the tenant already has its bytes: writing and fsyncing both copies of 4 KiB
# took 0.4 ms, the question was a query on every upload, and the claim in the
# step finds an existing row anyway (the copies just written are then removed,
# so only a repeated small file pays the writes).
WRITE_FIRST_BYTES = 64 * 1024


class OnConflict(StrEnum):
    """What a write does when a file already holds its name."""

    REPLACE = "replace"  # the old content becomes a version (the default, as before)
    KEEP_BOTH = "keep_both"  # the new file takes the next free "name (2).ext"
    FAIL = "fail"  # refused with name_taken, before the body is read


def file_write(
    *,
    tenant: Tenant,
    path: str,
    stream: ReadableStream,
    content_length: int | None,
    acting_user: User | None,
    if_match: str | None = None,
    on_conflict: OnConflict = OnConflict.REPLACE,
    seen: PathLookup | None = None,
) -> NodeVersion:
    """Create or replace a file from a byte stream, making missing folders.

    Refusals that need no bytes (a folder in the way, a stale ``if_match``, a
    taken name with ``on_conflict`` fail, a body over the size limit or the
    quota) happen before the body is read. The bytes are spooled and hashed,
    written to both facilities of the hub, and only then is the version row
    committed, so a failure at any point leaves no visible file. With
    ``on_conflict`` keep_both the returned version carries the name the file
    took.

    ``seen`` is the path as the caller already looked it up
    (``selectors.lookup.path_lookup``), so a request resolves its path once:
    the step reuses it when the tenant's clock has not moved since, and looks
    again under its lock when it has.
    """
    names = split_path(path)
    if not names:
        raise InvalidPath("/ is the root folder; give a file path such as /notes.txt.")
    lookup = seen if seen is not None and seen.names == names else path_lookup(tenant=tenant, names=names)
    existing = _check_file_target(lookup=lookup, if_match=if_match, on_conflict=on_conflict)
    # A new file (or a kept-both copy) is a new member of its folder.
    added = [join_path(names)] if existing is not None and on_conflict == OnConflict.KEEP_BOTH else []
    if existing is None and lookup.first_new is not None:
        added = [lookup.first_new]
    dav_locks_refuse(tenant=tenant, paths=[join_path(names)], members=added, any_locks=lookup.dav_locked)
    replaced_size = existing.size if existing is not None and on_conflict == OnConflict.REPLACE else 0
    # The size limit before the quota: a file over the limit answered 507 (quota)
    # when the quota was also short, where 413 tells the client what to change.
    upload_length_check(content_length=content_length, max_bytes=tenant.effective_max_file_bytes)
    if content_length is not None:
        _check_quota(tenant=tenant, additional=content_length - replaced_size, used=lookup.live_bytes)

    with spooled_upload(
        stream=stream, content_length=content_length, max_bytes=tenant.effective_max_file_bytes, tenant=tenant
    ) as spooled:
        _check_quota(tenant=tenant, additional=spooled.size - replaced_size, used=lookup.live_bytes)
        if (
            on_conflict == OnConflict.REPLACE
            and existing is not None
            and existing.blob is not None
            and existing.blob.sha256 == spooled.sha256
        ):
            return existing  # same bytes as the current version: no new version
        written: str | None = None
        needs_replication = False
        # Two attempts at most: the second runs only if the collector removed the
        # blob row we meant to reuse, and then we write the bytes ourselves.
        for _attempt in range(2):
            if written is None and (
                spooled.size <= WRITE_FIRST_BYTES or not blob_exists(tenant=tenant, sha256=spooled.sha256)
            ):
                written = new_generation()
                needs_replication = blob_write_bytes(tenant=tenant, spooled=spooled, generation=written)
            try:
                version = _file_write_step(
                    tenant=tenant,
                    lookup=lookup,
                    spooled=spooled,
                    generation=written,
                    needs_replication=needs_replication,
                    acting_user=acting_user,
                    if_match=if_match,
                    on_conflict=on_conflict,
                )
            except BlobVanished:
                continue
            except BaseException as error:
                if written is not None and not commit_outcome_unknown(error):
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
    lookup: PathLookup,
    spooled: SpooledUpload,
    generation: str | None,
    needs_replication: bool,
    acting_user: User | None,
    if_match: str | None,
    on_conflict: OnConflict,
) -> NodeVersion:
    names = lookup.names
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        if step.seq != lookup.seq + 1:
            # Another change came between the look and the lock: look again, under the lock.
            lookup = path_lookup(tenant=tenant, names=names)
        parents = folders_ensure(step, names[:-1], known=lookup.chain[: len(names)])
        current = lookup.item
        if current is not None and current.kind != Node.Kind.FILE:
            raise WrongKind(f"{join_path(names)} is a folder; a file cannot replace it.")
        _check_if_match(current, if_match, names)
        if current is not None and on_conflict != OnConflict.REPLACE:
            # Decided again under the step's lock: the name may have been taken since the first check.
            _check_conflict(current, on_conflict, names)
            name = selectors.free_name(
                tenant=tenant, parent_id=parents[-1].node_id, name=names[-1], kind=Node.Kind.FILE, naming=copy_name
            )
            names, current = [*names[:-1], name], None
        size_delta = spooled.size - (current.size if current else 0)
        _check_quota(tenant=tenant, additional=size_delta, used=lookup.live_bytes)
        blob = blob_claim(tenant=tenant, spooled=spooled, generation=generation, needs_replication=needs_replication)
        parent_of = chain_parents(parents)
        if current is None:
            [node_id] = nodes_create(step, kinds=[Node.Kind.FILE], sizes=[spooled.size])
            action = Change.Action.CREATE
            deltas = {parents[-1].node_id: (1, spooled.size)}
        else:
            node_id = current.node_id
            versions_close(step, [current], action=Change.Action.REPLACE)
            action = Change.Action.REPLACE
            # A file node's counters are (1, its size): the new size is the
            # same delta as its folders', so node and folders share one UPDATE.
            deltas = {node_id: (0, size_delta)}
            parent_of[node_id] = parents[-1].node_id
        # No savepoint: a refusal here ends the whole step, which writes nothing else.
        [version] = versions_open(
            step,
            [
                NewVersion(
                    node_id=node_id,
                    parent_id=parents[-1].node_id,
                    name=names[-1],
                    kind=Node.Kind.FILE,
                    blob=blob,
                    size=spooled.size,
                )
            ],
            savepoint=False,
        )
        counters_move(step, deltas=deltas, parent_of=parent_of)
        step.record(action, node_id=node_id, path=join_path(names))
        return version


def _check_file_target(
    *, lookup: PathLookup, if_match: str | None, on_conflict: OnConflict = OnConflict.REPLACE
) -> NodeVersion | None:
    names = lookup.names
    current = None
    if len(lookup.chain) >= len(names):  # the folder it goes in exists, or a file has its path
        if lookup.chain[len(names) - 1].kind != Node.Kind.FOLDER:
            raise WrongKind(f"{join_path(names[:-1])} is a file, not a folder.")
        current = lookup.item
    # (Folders on the way that do not exist are made when the file is written.)
    if current is not None and current.kind != Node.Kind.FILE:
        raise WrongKind(f"{join_path(names)} is a folder; a file cannot replace it.")
    _check_if_match(current, if_match, names)
    if current is not None:
        _check_conflict(current, on_conflict, names)
    return current


def _check_conflict(current: NodeVersion, on_conflict: OnConflict, names: list[str]) -> None:
    if on_conflict == OnConflict.FAIL:
        raise NameConflict(
            f"{join_path(names)} already exists. Upload again to replace it (its content stays restorable) "
            "or to keep both."
        )


def _check_if_match(current: NodeVersion | None, if_match: str | None, names: list[str]) -> None:
    if if_match is None:
        return
    current_sha = current.blob.sha256 if current is not None and current.blob is not None else None
    if current_sha != if_match:
        raise PreconditionFailed(
            f"{join_path(names)} has changed since you read it (its sha256 is no longer {if_match}). "
            "Fetch it again and retry."
        )


def _check_quota(*, tenant: Tenant, additional: int, used: int | None = None) -> None:
    """``used``: the live bytes the caller read (path_lookup reads them with the path)."""
    if additional <= 0:
        return
    if used is None:
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
    source_names, target_names = _move_names(from_path, to_path)
    with change_step(tenant=tenant, actor=actor_for(acting_user)) as step:
        version = move_in_step(step, source_names=source_names, target_names=target_names)
        if target_names != source_names:
            dav_state_follow(tenant=tenant, moved=[(join_path(source_names), join_path(target_names))])
        return version


def _move_names(from_path: str, to_path: str) -> tuple[list[str], list[str]]:
    """The names of a move's source and target, refused when the move cannot be."""
    source_names = split_path(from_path)
    target_names = split_path(to_path)
    if not source_names:
        raise InvalidMove("The root folder cannot be moved or renamed.")
    if not target_names:
        raise InvalidMove("Nothing can be moved to / itself; give the full new path, e.g. /Archive/report.pdf.")
    if target_names[: len(source_names)] == source_names and len(target_names) > len(source_names):
        raise InvalidMove("A folder cannot be moved into itself or into one of its own folders.")
    return source_names, target_names


def move_in_step(step: ChangeStep, *, source_names: list[str], target_names: list[str]) -> NodeVersion:
    """One move inside an open step (one item of a bulk move, or a move of its own)."""
    tenant = step.tenant
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
    if current.node_id in chain_parents(target_parents):
        raise InvalidMove("A folder cannot be moved into itself or into one of its own folders.")
    if selectors.live_child(tenant=tenant, parent_id=target_parent.node_id, name=target_names[-1]) is not None:
        raise NameConflict(f"{join_path(target_names)} already exists.")
    [version] = move_rows(step, [(source_names, source_chain, target_names)], target_chain=target_parents)
    return version


def move_rows(
    step: ChangeStep,
    moving: list[tuple[list[str], list[NodeVersion], list[str]]],
    *,
    target_chain: list[NodeVersion],
) -> list[NodeVersion]:
    """Move checked items into one folder (``target_chain[-1]``): each item is
    its source names, its chain and its target names (the last is its new
    name). Closes their rows, opens their new ones, moves the folder counters
    once for all and records each move or rename; the new rows, in order. One
    move (move_in_step) and a bulk move (bulk.nodes_move) both come here."""
    if not moving:
        return []
    target = target_chain[-1]
    currents = [chain[-1] for _, chain, _ in moving]
    actions = [
        Change.Action.RENAME if current.parent_id == target.node_id else Change.Action.MOVE for current in currents
    ]
    by_action: dict[str, list[NodeVersion]] = defaultdict(list)
    for action, current in zip(actions, currents, strict=True):
        by_action[action].append(current)
    for closing, rows in by_action.items():
        versions_close(step, rows, action=closing)
    versions_open(
        step,
        [
            NewVersion(
                node_id=current.node_id,
                parent_id=target.node_id,
                name=target_names[-1],
                kind=current.kind,
                blob=current.blob,
                size=current.size,
            )
            for (_, _, target_names), current in zip(moving, currents, strict=True)
        ],
        read_back=False,
    )
    leaving = [current for action, current in zip(actions, currents, strict=True) if action == Change.Action.MOVE]
    held = subtree_counters(tenant=step.tenant, node_ids=[current.node_id for current in leaving])
    deltas: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
    parent_of: dict[int, int | None] = chain_parents(target_chain)
    for (_, chain, _), current, action in zip(moving, currents, actions, strict=True):
        if action != Change.Action.MOVE:
            continue
        assert current.parent_id is not None  # the root is never moved
        files, size = held[current.node_id]
        for folder_id, sign in ((current.parent_id, -1), (target.node_id, 1)):
            before = deltas[folder_id]
            deltas[folder_id] = (before[0] + sign * files, before[1] + sign * size)
        parent_of.update(chain_parents(chain[:-1]))
    if deltas:
        counters_move(step, deltas=deltas, parent_of=parent_of)
    for (source_names, _, target_names), current, action in zip(moving, currents, actions, strict=True):
        step.record(
            action, node_id=current.node_id, path=join_path(target_names), previous_path=join_path(source_names)
        )
    opened = live_rows(tenant=step.tenant, node_ids=[current.node_id for current in currents])
    return [opened[current.node_id] for current in currents]


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
        deleted = delete_in_step(step, names=names)
        dav_state_follow(tenant=tenant, removed=[join_path(names)])
        return deleted


def delete_in_step(step: ChangeStep, *, names: list[str]) -> NodeVersion:
    """One delete inside an open step (one item of a bulk delete, or a delete of its own)."""
    chain = selectors.resolve(tenant=step.tenant, names=names)
    current = chain[-1]
    files, size = subtree_counters(tenant=step.tenant, node_ids=[current.node_id])[current.node_id]
    versions_close(step, [current], action=Change.Action.DELETE, to_trash=True)
    assert current.parent_id is not None  # the root is never deleted
    counters_move(step, deltas={current.parent_id: (-files, -size)}, parent_of=chain_parents(chain[:-1]))
    step.record(Change.Action.DELETE, node_id=current.node_id, path=join_path(names))
    return current
