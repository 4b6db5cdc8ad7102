"""The store's kernel: one step of the tenant clock, and the operations every
write is made of (close a version row, open one, move the folder counters).

Every service names its tenant first and makes its change in one transaction
on the tenant's hub database: it locks the tenant clock, bumps it, closes the
current version row of what it changes and opens a new one, keeps the subtree
counters of the ancestors exact, and writes the Change row (the activity log).
Renaming, moving or deleting a folder writes O(1) version rows: descendants
follow their parent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hubs.routing import hub_database_alias
from snapshots import selectors
from snapshots.errors import NameConflict, WrongKind
from snapshots.models import Blob, Change, Node, NodeVersion, TenantClock
from snapshots.paths import join_path

if TYPE_CHECKING:
    from datetime import datetime

    from hubs.models import Tenant
    from portal.models import User


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
