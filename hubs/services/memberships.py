"""Writes to memberships: a person added to a tenant, their role changed, removed.

Staff make these changes in the admin; each function runs in one transaction
on the control database (``default``) and writes one staff audit entry inside
it (``membership.add``, ``membership.change``, ``membership.delete``, with the
row before and after), as every staff change is recorded.

A tenant keeps at least one owner: removing or demoting its last owner is
refused (``MembershipRefused``), because only an owner can change the
workspace's two-factor policy and hand ownership on. The tenant's row is
locked first, so two staff removing its two owners at the same moment cannot
both succeed.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from django.db import transaction

from hubs.errors import MembershipRefused
from hubs.models import Membership, Tenant
from hubs.services.audit import audit_record, audit_snapshot

if TYPE_CHECKING:
    from portal.models import User

Role = Membership.Role


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


def _role_refusal(role: str) -> str | None:
    if role in Role.values:
        return None
    return f"There is no role {role!r}; choose one of {', '.join(Role.values)}."


def membership_add(*, tenant: Tenant, user: User, role: str, acting_user: User | None, reason: str = "") -> Membership:
    """Make ``user`` a member of ``tenant`` with ``role``."""
    refusal = _role_refusal(role)
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
    return membership


def membership_change_role(
    *, membership: Membership, role: str, acting_user: User | None, reason: str = ""
) -> Membership:
    """Give a member another role. Refused for the tenant's last owner; setting the
    role they already have changes nothing and writes no audit entry."""
    refusal = _role_refusal(role)
    if refusal:
        raise MembershipRefused(refusal)
    with transaction.atomic(using="default"):
        tenant = Tenant.objects.select_for_update().get(pk=membership.tenant_id)
        locked = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        if locked.role != role:
            if locked.role == Role.OWNER:
                refusal = membership_owner_refusal(tenant=tenant, leaving={locked.pk}, who=locked.user.email)
                if refusal:
                    raise MembershipRefused(refusal)
            before = audit_snapshot(locked)
            locked.role = role
            locked.save(update_fields=["role"])
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
        if locked.role == Role.OWNER:
            refusal = membership_owner_refusal(tenant=tenant, leaving={locked.pk}, who=locked.user.email)
            if refusal:
                raise MembershipRefused(refusal)
        audit_record(
            actor=acting_user,
            action="membership.delete",
            target=locked,
            tenant=tenant,
            before=audit_snapshot(locked),
            reason=reason.strip(),
        )
        locked.delete()
