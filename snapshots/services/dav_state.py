"""WebDAV's state in the tenant's hub: locks and dead properties. A client's
paths are the tenant's data, so they stay in its hub database like its tree
(never in the control database or a shared cache). Reads are
``snapshots.selectors.dav_state``; ``portal.dav.state`` puts WsgiDAV's lock
storage and property manager interfaces on top.

Dead properties follow their resource: a move takes them along, a delete
removes them, a copy copies them, each with the resource's descendants. The
store's own moves and deletes (pages, API, WebDAV alike) carry them through
``dav_state_follow``, in the step's transaction; a lock stays with its URL
(RFC 4918 7.7), so a move or a delete ends the locks on what it took away.

A lock binds the pages and the API too (``dav_locks_refuse``): they cannot
present its token, so they may not write, move or delete what a WebDAV client
has locked, as another WebDAV client could not, nor change which items a
locked folder holds (a depth-0 lock protects its membership, RFC 4918 7.4).
WebDAV's own requests call
the store inside ``dav_locks_checked``: WsgiDAV has checked their tokens
(the If header) against the same locks before the store is called. Restores
are not refused: they are the way back for a customer or support, and a lock
a client forgot must not stand in it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.db import transaction
from django.db.models import Exists, Q
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots.errors import Locked
from snapshots.models import DavLock, DavProperty, TenantClock
from snapshots.selectors.dav_state import dav_parent, dav_path_key

if TYPE_CHECKING:
    from hubs.models import Tenant

BATCH = 1000
# Roots whose rows one query reads (each a prefix test: SQLite's expression depth).
ROOTS_PER_QUERY = 100
# True while a WebDAV request calls the store (portal.dav.errors.call_store).
_webdav_tokens_checked: ContextVar[bool] = ContextVar("hubport_webdav_tokens_checked", default=False)


@contextmanager
def dav_locks_checked() -> Iterator[None]:
    """The store is called for a WebDAV request whose lock tokens WsgiDAV has
    already checked: its locks are not refused again here."""
    marker = _webdav_tokens_checked.set(True)
    try:
        yield
    finally:
        _webdav_tokens_checked.reset(marker)


def _path_below(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def _same(path: str, other: str) -> bool:
    return (path.rstrip("/") or "/") == (other.rstrip("/") or "/")  # a folder's lock root may end in /


@dataclass(frozen=True)
class DavLocksHeld:
    """The tenant's unexpired WebDAV locks, as a change from the pages or the
    API must respect them (none inside ``dav_locks_checked``)."""

    locks: list[tuple[str, str, datetime]]
    now: datetime

    def refuse(
        self, *, paths: Sequence[str] = (), with_inside: Sequence[str] = (), members: Sequence[str] = ()
    ) -> None:
        """``Locked`` when a lock is on one of these store paths or on a folder
        above it with depth infinity; for ``with_inside`` (a folder moved or
        deleted) also when a lock is on anything inside it; for ``members``
        (items added to or taken out of their folder) also when a lock of any
        depth is on that folder: a depth-0 lock on a folder protects its
        membership (RFC 4918 7.4), not what is inside its members."""
        for store_path, inside in [*((path, False) for path in paths), *((path, True) for path in with_inside)]:
            path = quote(store_path)
            for root, depth, expires_at in self.locks:
                above = depth == "infinity" and _path_below(path, root)
                if _same(root, path) or above or (inside and _path_below(root, path)):
                    raise self._locked(store_path, expires_at)
        for store_path in members:
            folder = store_path.rstrip("/").rsplit("/", 1)[0] or "/"
            for root, _depth, expires_at in self.locks:
                if _same(root, quote(folder)):
                    raise self._locked(folder, expires_at)

    def _locked(self, store_path: str, expires_at: datetime) -> Locked:
        minutes = max(1, round((expires_at - self.now).total_seconds() / 60))
        return Locked(
            f"{store_path} is locked by a WebDAV client (a mapped drive, an office app) for up to "
            f"{minutes:,} more minute{'s' if minutes != 1 else ''}. Close it there, or wait for the "
            "lock to end, then try again."
        )


def dav_locks_held(*, tenant: Tenant, any_locks: bool | None = None) -> DavLocksHeld:
    """The locks a change from the pages or the API must respect: one query,
    none inside ``dav_locks_checked`` or when ``any_locks`` (the caller's
    ``PathLookup.dav_locked``) says the tenant has none."""
    now = timezone.now()
    if _webdav_tokens_checked.get() or any_locks is False:
        return DavLocksHeld(locks=[], now=now)
    locks = DavLock.objects.for_tenant(tenant).filter(expires_at__gt=now).values_list("path", "depth", "expires_at")
    return DavLocksHeld(locks=list(locks), now=now)


def dav_locks_refuse(
    *,
    tenant: Tenant,
    paths: Sequence[str] = (),
    with_inside: Sequence[str] = (),
    members: Sequence[str] = (),
    any_locks: bool | None = None,
) -> None:
    """Refuse (``Locked``) a change from the pages or the API to what a WebDAV
    client has locked (``DavLocksHeld.refuse``)."""
    if paths or with_inside or members:
        dav_locks_held(tenant=tenant, any_locks=any_locks).refuse(paths=paths, with_inside=with_inside, members=members)


@contextmanager
def dav_locks_serialized(*, tenant: Tenant) -> Iterator[None]:
    """A transaction holding the tenant's clock row: taking a lock checks the
    locks there are and then adds one, and two workers must not both pass the
    check (the clock row lock, IMMEDIATE transactions on SQLite)."""
    with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
        TenantClock.objects.for_tenant(tenant).select_for_update().get()
        yield


def dav_lock_create(
    *,
    tenant: Tenant,
    token: str,
    path: str,
    depth: str,
    scope: str,
    lock_type: str,
    owner: str,
    principal: str,
    timeout_seconds: float,
) -> DavLock:
    return DavLock.objects.for_tenant(tenant).create(
        token=token,
        path=path,
        depth=depth,
        scope=scope,
        lock_type=lock_type,
        owner=owner,
        principal=principal,
        timeout_seconds=timeout_seconds,
        expires_at=timezone.now() + timedelta(seconds=timeout_seconds),
    )


def dav_lock_refresh(*, tenant: Tenant, token: str, timeout_seconds: float) -> DavLock | None:
    """A new timeout for a lock that has not expired; None when there is no such lock."""
    now = timezone.now()
    locks = DavLock.objects.for_tenant(tenant).filter(token=token, expires_at__gte=now)
    if not locks.update(timeout_seconds=timeout_seconds, expires_at=now + timedelta(seconds=timeout_seconds)):
        return None
    return locks.first()


def dav_locks_delete(*, tenant: Tenant, tokens: list[str]) -> int:
    return DavLock.objects.for_tenant(tenant).filter(token__in=tokens).delete()[0]


def dav_locks_expired_delete(*, hub_code: str, now: datetime | None = None) -> int:
    """The periodic clean-up: every tenant's expired locks in one hub (reads drop them too)."""
    return DavLock.objects.for_hub(hub_code).filter(expires_at__lt=now or timezone.now()).delete()[0]


def dav_property_set(*, tenant: Tenant, path: str, name: str, value: str) -> None:
    DavProperty.objects.for_tenant(tenant).update_or_create(
        path_key=dav_path_key(path),
        name=name,
        defaults={"path": path, "folder_key": dav_path_key(dav_parent(path)), "value": value},
    )


def dav_property_remove(*, tenant: Tenant, path: str, name: str) -> None:
    DavProperty.objects.for_tenant(tenant).filter(path_key=dav_path_key(path), name=name).delete()


def dav_properties_remove(*, tenant: Tenant, path: str) -> int:
    """A resource is gone: its properties and its descendants' go with it."""
    return _properties_follow(tenant=tenant, moves=[], gone=[path])


def _renamed(row: DavProperty, *, from_path: str, to_path: str) -> str:
    return to_path + row.path[len(from_path) :] if from_path != "/" else to_path.rstrip("/") + row.path


def dav_properties_move(*, tenant: Tenant, from_path: str, to_path: str, with_children: bool = True) -> None:
    """A resource moved: its properties (and its descendants') follow it; what
    the destination had before is replaced (a MOVE with Overwrite deleted it)."""
    _properties_follow(tenant=tenant, moves=[(from_path, to_path)], gone=[], with_children=with_children)


def _at_or_below(path: str, root: str) -> bool:
    return root == "/" or _same(path, root) or _path_below(path, root)


def _covers(path: str, root: str, with_children: bool) -> bool:
    """Whether a row at ``path`` belongs to ``root`` (and, ``with_children``, to what is below it)."""
    return _at_or_below(path, root) if with_children else _same(path, root)


def _rows_at_or_below(*, tenant: Tenant, roots: Sequence[str], with_children: bool = True) -> list[DavProperty]:
    """The property rows of ``roots`` (WebDAV paths) and, ``with_children``,
    of everything below them: one query per ROOTS_PER_QUERY roots, the
    prefix compared exactly here (LIKE compares without case in SQLite)."""
    found: dict[int, DavProperty] = {}
    rows = DavProperty.objects.for_tenant(tenant)
    for start in range(0, len(roots), ROOTS_PER_QUERY):
        chunk = roots[start : start + ROOTS_PER_QUERY]
        if with_children and "/" in chunk:
            return list(rows)
        # A folder's row may carry its trailing slash or not.
        spellings = {spelling for root in chunk for spelling in (root, root.rstrip("/"), root.rstrip("/") + "/")}
        wanted = Q(path_key__in=[dav_path_key(spelling) for spelling in spellings])
        if with_children:
            for root in chunk:
                wanted |= Q(path__startswith=root.rstrip("/") + "/")
        found.update((row.pk, row) for row in rows.filter(wanted))
    return [row for row in found.values() if any(_covers(row.path, root, with_children) for root in roots)]


def _properties_follow(
    *, tenant: Tenant, moves: Sequence[tuple[str, str]], gone: Sequence[str], with_children: bool = True
) -> int:
    """Moves (``(from, to)``, none inside another's source or destination, as
    the store's moves of outermost items are) and deletions (``gone``), WebDAV
    paths: what each destination had goes, each source's rows take the
    destination's path, each deleted root's rows go. Reads once, writes in
    batches, whatever the number of items. Returns how many rows went."""
    targets = [*(to_path for _, to_path in moves), *gone]
    rows = _rows_at_or_below(
        tenant=tenant, roots=[*(from_path for from_path, _ in moves), *targets], with_children=with_children
    )
    doomed: list[int] = []
    moving: list[DavProperty] = []
    for row in rows:
        if any(_covers(row.path, root, with_children) for root in targets):
            doomed.append(row.pk)
            continue
        for from_path, to_path in moves:
            if _covers(row.path, from_path, with_children):
                row.path = _renamed(row, from_path=from_path, to_path=to_path)
                row.path_key = dav_path_key(row.path)
                row.folder_key = dav_path_key(dav_parent(row.path))
                moving.append(row)
                break
    with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
        properties = DavProperty.objects.for_tenant(tenant)
        for start in range(0, len(doomed), BATCH):
            properties.filter(pk__in=doomed[start : start + BATCH]).delete()
        properties.bulk_update(moving, ["path", "path_key", "folder_key"], batch_size=BATCH)
    return len(doomed)


def dav_properties_copy(*, tenant: Tenant, from_path: str, to_path: str, with_children: bool) -> None:
    """A resource copied: the copy has the source's properties (replacing the destination's)."""
    with transaction.atomic(using=hub_database_alias(tenant.hub_id)):
        if with_children:
            dav_properties_remove(tenant=tenant, path=to_path)
        else:
            DavProperty.objects.for_tenant(tenant).filter(path_key=dav_path_key(to_path)).delete()
        copies = []
        for row in _rows_at_or_below(tenant=tenant, roots=[from_path], with_children=with_children):
            path = _renamed(row, from_path=from_path, to_path=to_path)
            copies.append(
                DavProperty(
                    tenant_id=tenant.pk,
                    path=path,
                    path_key=dav_path_key(path),
                    folder_key=dav_path_key(dav_parent(path)),
                    name=row.name,
                    value=row.value,
                )
            )
        DavProperty.objects.for_tenant(tenant).bulk_create(copies, batch_size=BATCH)


def dav_state_forget(*, tenant: Tenant, path: str) -> None:
    """An item purged from all history: its and its descendants' dead properties
    and locks go too (``path`` as WebDAV names it, percent-encoded)."""
    dav_properties_remove(tenant=tenant, path=path)
    _locks_forget(tenant=tenant, paths=[path])


def _locks_forget(*, tenant: Tenant, paths: Sequence[str]) -> None:
    """The locks (expired ones too) on these WebDAV paths or below them: one read, one delete."""
    locks = DavLock.objects.for_tenant(tenant)
    doomed = [pk for pk, root in locks.values_list("pk", "path") if any(_at_or_below(root, path) for path in paths)]
    if doomed:
        locks.filter(pk__in=doomed).delete()


def _has_state(tenant: Tenant) -> bool:
    """Whether the tenant has any lock or dead property: one query (most tenants have none)."""
    return bool(
        TenantClock.objects.for_tenant(tenant)
        .annotate(
            locks=Exists(DavLock.objects.for_tenant(tenant)),
            properties=Exists(DavProperty.objects.for_tenant(tenant)),
        )
        .filter(Q(locks=True) | Q(properties=True))
        .exists()
    )


def dav_state_follow(*, tenant: Tenant, moved: Sequence[tuple[str, str]] = (), removed: Sequence[str] = ()) -> None:
    """The store moved items (``(from, to)``) or deleted them (store paths, in
    the order they happened, inside the step's transaction): their dead
    properties and their descendants' move along or go, and the locks on what
    moved or went end; from the pages or the API, a change to what a WebDAV
    client has locked is refused (the step rolls back). One query when the
    tenant has no WebDAV state."""
    if not (moved or removed) or not _has_state(tenant):
        return
    dav_locks_refuse(
        tenant=tenant,
        paths=[to_path for _, to_path in moved],
        with_inside=[*(from_path for from_path, _ in moved), *removed],
        # Out of one folder and into another (a rename: out of and into the same).
        members=[*(path for pair in moved for path in pair), *removed],
    )
    moves = [(quote(from_path), quote(to_path)) for from_path, to_path in moved]
    gone = [quote(path) for path in removed]
    _properties_follow(tenant=tenant, moves=moves, gone=gone)
    _locks_forget(tenant=tenant, paths=[*(from_path for from_path, _ in moves), *gone])
