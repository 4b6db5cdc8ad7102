"""Invitations: an owner or admin asks a colleague, by email, to join the
tenant with a role; the colleague follows the signed link (``hubs.invitation_links``),
signs in or signs up with that address, and accepts.

Each function runs in one transaction on the control database, locks the
tenant's row first (as the membership services do), writes a
``MembershipEvent`` inside it, and the invitation email is queued after commit
(``hubs.tasks.invitation_email_task``), so a rolled-back invitation sends nothing.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hubs.errors import InvitationLinkInvalid, InvitationRefused, RoleForbidden, TeamNotFound
from hubs.invitation_links import INVITATION_VALID_FOR, MAX_ID, invitation_check_open, invitation_from_token
from hubs.models import Invitation, Membership, MembershipEvent, Tenant
from hubs.roles import Action, role_check
from hubs.services.memberships import membership_event_record, role_refusal
from hubs.tasks import invitation_email_task

if TYPE_CHECKING:
    from portal.models import User

Role = Membership.Role
Kind = MembershipEvent.Kind
MAX_EMAIL_LENGTH = 254


def invitations_open(*, tenant: Tenant) -> QuerySet[Invitation]:
    """The tenant's invitations still waiting, newest first (expired ones included
    until replaced or withdrawn: the page says they expired)."""
    return (
        Invitation.objects.filter(tenant=tenant, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


def _acting_role(*, tenant: Tenant, acting_user: User) -> str:
    role = Membership.objects.filter(tenant=tenant, user_id=acting_user.pk).values_list("role", flat=True).first()
    if role is None:
        raise RoleForbidden("You are no longer a member of this workspace.")
    return role


def email_normalized(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        if len(email) > MAX_EMAIL_LENGTH:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError as exc:
        raise InvitationRefused(
            "Enter the colleague's email address, such as name@example.com.", field="email"
        ) from exc
    return email


def invitation_create(*, tenant: Tenant, email: str, role: str, acting_user: User) -> Invitation:
    """Invite ``email`` to ``tenant`` with ``role``; an open invitation to the same
    address is replaced (its link stops working). Only an owner invites an owner."""
    email = email_normalized(email)
    refusal = role_refusal(role)
    if refusal:
        raise InvitationRefused(refusal, field="role")
    now = timezone.now()
    with transaction.atomic(using="default"):
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        acting_role = _acting_role(tenant=locked, acting_user=acting_user)
        role_check(acting_role, Action.MANAGE_MEMBERS)
        if role == Role.OWNER:
            role_check(acting_role, Action.MANAGE_OWNERS)
        if Membership.objects.filter(tenant=locked, user__email__iexact=email).exists():
            raise InvitationRefused(f"{email} is a member of {locked.name} already; change their role instead.")
        Invitation.objects.filter(tenant=locked, email=email, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        invitation = Invitation.objects.create(
            tenant=locked,
            email=email,
            role=role,
            nonce=secrets.token_urlsafe(24),
            invited_by=acting_user,
            created_at=now,
            expires_at=now + INVITATION_VALID_FOR,
        )
        membership_event_record(
            tenant=locked, kind=Kind.INVITED, actor=acting_user, subject_email=email, role_after=role
        )
        invitation_id = invitation.pk
        transaction.on_commit(lambda: invitation_email_task.delay(invitation_id=invitation_id), using="default")
    return invitation


def invitation_revoke(*, tenant: Tenant, invitation_id: int, acting_user: User) -> Invitation:
    """Withdraw an open invitation: its link stops working. Withdrawing twice is harmless."""
    with transaction.atomic(using="default"):
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        acting_role = _acting_role(tenant=locked, acting_user=acting_user)
        role_check(acting_role, Action.MANAGE_MEMBERS)
        invitation = None
        if isinstance(invitation_id, int) and 0 < invitation_id <= MAX_ID:
            invitation = Invitation.objects.select_for_update().filter(tenant=locked, pk=invitation_id).first()
        if invitation is None:
            raise TeamNotFound(f"There is no invitation {invitation_id} in this workspace.")
        if invitation.role == Role.OWNER:
            role_check(acting_role, Action.MANAGE_OWNERS)
        if invitation.accepted_at is not None:
            raise InvitationRefused(f"{invitation.email} has accepted already; remove the member instead.")
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            membership_event_record(
                tenant=locked,
                kind=Kind.INVITATION_REVOKED,
                actor=acting_user,
                subject_email=invitation.email,
                role_after=invitation.role,
            )
    return invitation


def invitation_accept(*, token: str, user: User) -> Membership:
    """``user`` accepts the invitation a link carries: they become a member with its
    role. Only the account with the invited address may accept."""
    invitation = invitation_from_token(token)
    if user.email.lower() != invitation.email:
        raise InvitationRefused(
            f"This invitation is for {invitation.email}, and you are signed in as {user.email}. "
            "Sign out, then open the link again and sign in or sign up with the invited address."
        )
    with transaction.atomic(using="default"):
        locked_tenant = Tenant.objects.select_for_update().get(pk=invitation.tenant_id)
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.nonce != invitation.nonce:
            raise InvitationLinkInvalid("This invitation was replaced by a newer one. Use the newest email.")
        invitation_check_open(locked)
        if Membership.objects.filter(tenant=locked_tenant, user_id=user.pk).exists():
            raise InvitationRefused(f"You are a member of {locked_tenant.name} already.")
        membership = Membership.objects.create(tenant=locked_tenant, user=user, role=locked.role)
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        membership_event_record(
            tenant=locked_tenant, kind=Kind.JOINED, actor=user, subject_email=user.email, role_after=locked.role
        )
    membership.tenant = locked_tenant
    return membership
