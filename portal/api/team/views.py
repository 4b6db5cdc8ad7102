"""The team endpoints: /api/v1/members/ (list, PATCH a role, DELETE, hand on
ownership, the team's history) and /api/v1/invitations/ (list pending, POST,
DELETE to withdraw). Each validates, calls one service in ``hubs.services``
(which checks the caller's role, ``hubs.roles``) and serializes the result."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from hubs.models import Invitation, MembershipEvent
from hubs.roles import Action
from hubs.services.invitations import invitation_create, invitation_revoke, invitations_open
from hubs.services.memberships import member_remove, member_role_change, ownership_transfer
from portal.api.base import TenantAPIView, problems, validated_body
from portal.api.team.serializers import (
    InvitationCreateSerializer,
    InvitationListSerializer,
    InvitationSerializer,
    MemberListSerializer,
    MemberSerializer,
    MembershipEventListSerializer,
    RoleChangeSerializer,
)
from portal.selectors import TeamMember, membership_events, team_members
from portal.signed_in import signed_in_user

MANAGE = Action.MANAGE_MEMBERS


def member_json(row: TeamMember) -> dict[str, Any]:
    membership = row.membership
    return MemberSerializer(
        {
            "id": membership.pk,
            "email": membership.user.email,
            "role": membership.role,
            "two_factor": row.has_two_factor,
            "last_sign_in": row.last_sign_in,
            "joined_at": membership.created_at,
        }
    ).data


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return InvitationSerializer(
        {
            "id": invitation.pk,
            "email": invitation.email,
            "role": invitation.role,
            "invited_by": invitation.invited_by.email if invitation.invited_by is not None else None,
            "created_at": invitation.created_at,
            "expires_at": invitation.expires_at,
            "email_sent_at": invitation.email_sent_at,
        }
    ).data


def event_json(event: MembershipEvent) -> dict[str, Any]:
    return {
        "at": event.at,
        "kind": event.kind,
        "actor": "" if event.by_staff else event.actor_email,
        "subject": event.subject_email,
        "role_before": event.role_before,
        "role_after": event.role_after,
        "summary": event.summary,
    }


class MembersView(TenantAPIView):
    @extend_schema(
        operation_id="members_list",
        summary="The workspace's members",
        description=(
            "Every member with their role, two-factor status and last sign-in; owners first. Any role may read it."
        ),
        responses={200: MemberListSerializer, **problems()},
    )
    def get(self, request: Request) -> Response:
        return Response({"items": [member_json(row) for row in team_members(tenant=self.tenant)]})


class MemberView(TenantAPIView):
    role_actions: ClassVar[dict[str, Action]] = {"PATCH": MANAGE, "DELETE": MANAGE}

    @extend_schema(
        operation_id="members_role_change",
        summary="Change a member's role",
        description=(
            "Owners and admins change roles; only an owner makes an owner or changes one. The last owner "
            "keeps the role (409 membership_refused): hand ownership on first. The change applies to the "
            "member's next request, sessions and tokens alike."
        ),
        request=RoleChangeSerializer,
        responses={200: MemberSerializer, **problems(400, 404, 409)},
    )
    def patch(self, request: Request, membership_id: int) -> Response:
        body = validated_body(RoleChangeSerializer, request)
        changed = member_role_change(
            tenant=self.tenant, membership_id=membership_id, role=body["role"], acting_user=signed_in_user(request)
        )
        row = next(row for row in team_members(tenant=self.tenant) if row.membership.pk == changed.pk)
        return Response(member_json(row))

    @extend_schema(
        operation_id="members_remove",
        summary="Remove a member",
        description=(
            "Owners and admins remove members (only an owner removes an owner); anyone may remove themselves. "
            "The member's sessions and API tokens stop reaching the workspace at once, and their tokens for "
            "it are revoked. The last owner cannot be removed (409)."
        ),
        responses={204: None, **problems(404, 409)},
    )
    def delete(self, request: Request, membership_id: int) -> Response:
        member_remove(tenant=self.tenant, membership_id=membership_id, acting_user=signed_in_user(request))
        return Response(status=204)


class OwnershipTransferView(TenantAPIView):
    role_actions: ClassVar[dict[str, Action]] = {"POST": Action.MANAGE_OWNERS}

    @extend_schema(
        operation_id="members_ownership_transfer",
        summary="Hand ownership to a member",
        description="An owner makes the member an owner and becomes an admin, in one step.",
        request=None,
        responses={200: MemberSerializer, **problems(404, 409)},
    )
    def post(self, request: Request, membership_id: int) -> Response:
        new_owner = ownership_transfer(
            tenant=self.tenant, membership_id=membership_id, acting_user=signed_in_user(request)
        )
        row = next(row for row in team_members(tenant=self.tenant) if row.membership.pk == new_owner.pk)
        return Response(member_json(row))


class MembershipEventsView(TenantAPIView):
    @extend_schema(
        operation_id="members_history",
        summary="The team's history",
        description="The latest 50 changes to the team (invitations, joins, roles, removals, ownership), newest first.",
        responses={200: MembershipEventListSerializer, **problems()},
    )
    def get(self, request: Request) -> Response:
        return Response({"items": [event_json(event) for event in membership_events(tenant=self.tenant)]})


class InvitationsView(TenantAPIView):
    role_actions: ClassVar[dict[str, Action]] = {"GET": MANAGE, "POST": MANAGE}

    @extend_schema(
        operation_id="invitations_list",
        summary="Pending invitations",
        description="Invitations not yet accepted or withdrawn, newest first (expired ones until replaced). "
        "Owners and admins only.",
        responses={200: InvitationListSerializer, **problems()},
    )
    def get(self, request: Request) -> Response:
        return Response({"items": [invitation_json(item) for item in invitations_open(tenant=self.tenant)]})

    @extend_schema(
        operation_id="invitations_create",
        summary="Invite a colleague by email",
        description=(
            "Emails a link valid for seven days; the invitee signs in or signs up with that address and joins "
            "with the role (the workspace's two-factor rule applies). Inviting an address again replaces its "
            "open invitation. Owners and admins invite; only an owner invites an owner."
        ),
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer, **problems(400, 409)},
    )
    def post(self, request: Request) -> Response:
        body = validated_body(InvitationCreateSerializer, request)
        invitation = invitation_create(
            tenant=self.tenant, email=body["email"], role=body["role"], acting_user=signed_in_user(request)
        )
        return Response(invitation_json(invitation), status=201)


class InvitationView(TenantAPIView):
    role_actions: ClassVar[dict[str, Action]] = {"DELETE": MANAGE}

    @extend_schema(
        operation_id="invitations_withdraw",
        summary="Withdraw an invitation",
        description="Its link stops working at once. Withdrawing twice is harmless; an accepted one is 409.",
        responses={204: None, **problems(404, 409)},
    )
    def delete(self, request: Request, invitation_id: int) -> Response:
        invitation_revoke(tenant=self.tenant, invitation_id=invitation_id, acting_user=signed_in_user(request))
        return Response(status=204)
