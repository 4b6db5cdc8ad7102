"""Writes to memberships: a person added to a tenant, their role changed, removed,
ownership handed on.

Two kinds of caller share the same rules and the same writes:

- staff in the admin (``membership_add``, ``membership_change_role``,
  ``membership_remove``): each writes one staff audit entry
  (``membership.add``, ``membership.change``, ``membership.delete``, with the
  row before and after), as every staff change is recorded;
- the tenant's own owners and admins on the members page and the API
  (``member_role_change``, ``member_remove``, ``ownership_transfer``): the
  acting person's role is checked under the same lock (``hubs.roles``).

Every change, whoever makes it, is a ``MembershipEvent`` the tenant's members
read. Each function runs in one transaction on the control database
(``default``) and locks the tenant's row first, so two people removing its two
owners at the same moment cannot both succeed: a tenant keeps at least one
owner, and removing or demoting its last owner is refused
(``MembershipRefused``), because only an owner can change the workspace's
two-factor policy and hand ownership on.

A removed member's access ends at once: the session middleware and the token
check read the membership on every request. The hooks registered with
``membership_removed_hook_register`` (the portal revokes the person's API
tokens for the tenant) run inside the removal's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from hubs.errors import MembershipRefused, RoleForbidden, TeamNotFound
from hubs.models import Membership, MembershipEvent, Tenant
from hubs.roles import Action, role_check
from hubs.services.audit import audit_record, audit_snapshot

if TYPE_CHECKING:
    from portal.models import User

Role = Membership.Role
Kind = MembershipEvent.Kind
MAX_ID = 2**63 - 1

_removed_hooks: list[Callable[[Membership], object]] = []


def membership_removed_hook_register(hook: Callable[[Membership], object]) -> None:
    """Call ``hook(membership)`` inside every removal's transaction, before the row goes."""
    if hook not in _removed_hooks:
        _removed_hooks.append(hook)


def _tenant_label(tenant: Tenant) -> str:
    return f"{tenant.name} ({tenant.slug})"


def membership_owner_refusal(
    *, tenant: Tenant, leaving: Collection[int], joining_owners: int = 0, who: str = ""
) -> str | None:
    """Why removing or demoting the memberships ``leaving`` (ids) would be refused:
    together they are every owner the tenant has, and no new owner joins. None when
    the tenant keeps an owner (or never had one).

    The admin's forms ask this before saving, so staff see the refusal next to the
    form; the services ask it again under the tenant's lock."""
    if joining_owners > 0:
        return None
    owners = set(Membership.objects.filter(tenant_id=tenant.pk, role=Role.OWNER).values_list("pk", flat=True))
    if not owners or not owners <= set(leaving):
        return None
    subject = f"{who} is the last owner" if who else "These changes would remove the last owner"
    return (
        f"{subject} of {_tenant_label(tenant)}; a workspace must keep at least one owner. "
        "Make another member an owner first."
    )


def role_refusal(role: str) -> str | None:
    if role in Role.values:
        return None
    return f"There is no role {role!r}; choose one of {', '.join(Role.values)}."


def membership_event_record(
    *,
    tenant: Tenant,
    kind: str,
    actor: User | None,
    subject_email: str,
    role_before: str = "",
    role_after: str = "",
    by_staff: bool = False,
) -> MembershipEvent:
    """One line of the tenant's team history. Callers run it inside their own transaction."""
    return MembershipEvent.objects.create(
        tenant=tenant,
        at=timezone.now(),
        kind=kind,
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        by_staff=by_staff,
        subject_email=subject_email,
        role_before=role_before,
        role_after=role_after,
    )


# SECTION: the shared writes (the caller holds the tenant's lock)


def _role_set(
    *, tenant: Tenant, locked: Membership, role: str, acting_user: User | None, by_staff: bool, kind: str = ""
) -> bool:
    """Give a locked membership ``role``; False when it already had it."""
    if locked.role == role:
        return False
    if locked.role == Role.OWNER:
        refusal = membership_owner_refusal(tenant=tenant, leaving={locked.pk}, who=locked.user.email)
        if refusal:
            raise MembershipRefused(refusal)
    before = locked.role
    locked.role = role
    locked.save(update_fields=["role"])
    membership_event_record(
        tenant=tenant,
        kind=kind or Kind.ROLE_CHANGED,
        actor=acting_user,
        subject_email=locked.user.email,
        role_before=before,
        role_after=role,
        by_staff=by_staff,
    )
    return True


def _remove(*, tenant: Tenant, locked: Membership, acting_user: User | None, by_staff: bool) -> None:
    if locked.role == Role.OWNER:
        refusal = membership_owner_refusal(tenant=tenant, leaving={locked.pk}, who=locked.user.email)
        if refusal:
            raise MembershipRefused(refusal)
    membership_event_record(
        tenant=tenant,
        kind=Kind.REMOVED,
        actor=acting_user,
        subject_email=locked.user.email,
        role_before=locked.role,
        by_staff=by_staff,
    )
    for hook in _removed_hooks:
        hook(locked)
    locked.delete()


# SECTION: staff, in the admin


def membership_add(*, tenant: Tenant, user: User, role: str, acting_user: User | None, reason: str = "") -> Membership:
    """Make ``user`` a member of ``tenant`` with ``role``."""
    refusal = role_refusal(role)
    if refusal:
        raise MembershipRefused(refusal)
    with transaction.atomic(using="default"):
        locked_tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if Membership.objects.filter(tenant=locked_tenant, user_id=user.pk).exists():
            raise MembershipRefused(
                f"{user.email or user.pk} is already a member of {_tenant_label(locked_tenant)}; "
                "change their role instead."
            )
        membership = Membership.objects.create(tenant=locked_tenant, user=user, role=role)
        audit_record(
            actor=acting_user,
            action="membership.add",
            target=membership,
            tenant=locked_tenant,
            after=audit_snapshot(membership),
            reason=reason.strip(),
        )
        membership_event_record(
            tenant=locked_tenant,
            kind=Kind.JOINED,
            actor=acting_user,
            subject_email=user.email,
            role_after=role,
            by_staff=True,
        )
    return membership


def membership_change_role(
    *, membership: Membership, role: str, acting_user: User | None, reason: str = ""
) -> Membership:
    """Give a member another role. Refused for the tenant's last owner; setting the
    role they already have changes nothing and writes no audit entry."""
    refusal = role_refusal(role)
    if refusal:
        raise MembershipRefused(refusal)
    with transaction.atomic(using="default"):
        tenant = Tenant.objects.select_for_update().get(pk=membership.tenant_id)
        locked = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        before = audit_snapshot(locked)
        if _role_set(tenant=tenant, locked=locked, role=role, acting_user=acting_user, by_staff=True):
            audit_record(
                actor=acting_user,
                action="membership.change",
                target=locked,
                tenant=tenant,
                before=before,
                after=audit_snapshot(locked),
                reason=reason.strip(),
            )
    membership.role = locked.role
    return locked


def membership_remove(*, membership: Membership, acting_user: User | None, reason: str = "") -> None:
    """Remove a person from a tenant. Refused for the tenant's last owner; a
    membership already gone is nothing to do."""
    with transaction.atomic(using="default"):
        tenant = Tenant.objects.select_for_update().get(pk=membership.tenant_id)
        locked = Membership.objects.select_for_update().select_related("user").filter(pk=membership.pk).first()
        if locked is None:
            return
        audit_record(
            actor=acting_user,
            action="membership.delete",
            target=locked,
            tenant=tenant,
            before=audit_snapshot(locked),
            reason=reason.strip(),
        )
        _remove(tenant=tenant, locked=locked, acting_user=acting_user, by_staff=True)


# SECTION: the tenant's own owners and admins


def _locked_pair(*, tenant: Tenant, membership_id: int, acting_user: User) -> tuple[Tenant, Membership, Membership]:
    """The tenant, the acting person's membership and the target's, locked in that order."""
    locked_tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    acting = Membership.objects.select_for_update().filter(tenant=locked_tenant, user_id=acting_user.pk).first()
    if acting is None:
        raise RoleForbidden("You are no longer a member of this workspace.")
    target = None
    if isinstance(membership_id, int) and 0 < membership_id <= MAX_ID:
        target = (
            Membership.objects.select_for_update()
            .select_related("user")
            .filter(tenant=locked_tenant, pk=membership_id)
            .first()
        )
    if target is None:
        raise TeamNotFound(f"There is no member {membership_id} in this workspace.")
    return locked_tenant, acting, target


def member_role_change(*, tenant: Tenant, membership_id: int, role: str, acting_user: User) -> Membership:
    """An owner or admin gives a member another role. Only an owner makes an
    owner or changes one; the last owner keeps the role."""
    refusal = role_refusal(role)
    if refusal:
        raise MembershipRefused(refusal)
    with transaction.atomic(using="default"):
        locked_tenant, acting, target = _locked_pair(
            tenant=tenant, membership_id=membership_id, acting_user=acting_user
        )
        role_check(acting.role, Action.MANAGE_MEMBERS)
        if Role.OWNER in (target.role, role) and target.role != role:
            role_check(acting.role, Action.MANAGE_OWNERS)
        _role_set(tenant=locked_tenant, locked=target, role=role, acting_user=acting_user, by_staff=False)
    return target


def member_remove(*, tenant: Tenant, membership_id: int, acting_user: User) -> None:
    """An owner or admin removes a member (only an owner removes an owner), or a
    person leaves. Never the last owner."""
    with transaction.atomic(using="default"):
        locked_tenant, acting, target = _locked_pair(
            tenant=tenant, membership_id=membership_id, acting_user=acting_user
        )
        if target.pk != acting.pk:
            role_check(acting.role, Action.MANAGE_MEMBERS)
            if target.role == Role.OWNER:
                role_check(acting.role, Action.MANAGE_OWNERS)
        _remove(tenant=locked_tenant, locked=target, acting_user=acting_user, by_staff=False)


def ownership_transfer(*, tenant: Tenant, membership_id: int, acting_user: User) -> Membership:
    """An owner hands ownership to another member, who becomes an owner, and
    becomes an admin themselves; in one transaction, so the tenant is never
    without an owner. Returns the new owner's membership."""
    with transaction.atomic(using="default"):
        locked_tenant, acting, target = _locked_pair(
            tenant=tenant, membership_id=membership_id, acting_user=acting_user
        )
        role_check(acting.role, Action.MANAGE_OWNERS)
        if target.pk == acting.pk:
            raise MembershipRefused("You are an owner already; choose another member to hand ownership to.")
        if target.role == Role.OWNER:
            raise MembershipRefused(f"{target.user.email} is an owner already.")
        _role_set(
            tenant=locked_tenant,
            locked=target,
            role=Role.OWNER,
            acting_user=acting_user,
            by_staff=False,
            kind=Kind.OWNERSHIP_TRANSFERRED,
        )
        acting = Membership.objects.select_related("user").get(pk=acting.pk)
        _role_set(tenant=locked_tenant, locked=acting, role=Role.ADMIN, acting_user=acting_user, by_staff=False)
    return target
