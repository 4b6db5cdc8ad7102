"""Shapes of the team endpoints: members and invitations."""

from __future__ import annotations

from rest_framework import serializers

from hubs.models import Membership
from portal.api.fields import BodySerializer

ROLES = Membership.Role.values
ROLE_HELP = "owner, admin, member or read_only (read-only: browse, download and see history; change nothing)."


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership's id: what PATCH and DELETE name.")
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLES, help_text=ROLE_HELP)
    two_factor = serializers.BooleanField(help_text="Whether the member has a confirmed authenticator app.")
    last_sign_in = serializers.DateTimeField(allow_null=True, help_text="Null: never signed in.")
    joined_at = serializers.DateTimeField()


class MemberListSerializer(serializers.Serializer):
    items = MemberSerializer(many=True)


class RoleChangeSerializer(BodySerializer):
    role = serializers.ChoiceField(choices=ROLES, help_text=ROLE_HELP)

    # Never partial: its one member is what the PATCH changes, so the body needs
    # it. drf-spectacular marks every PATCH body partial (all members optional,
    # the body itself too) by setting this attribute on a copy.
    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLES, help_text=ROLE_HELP)
    invited_by = serializers.EmailField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text="Seven days after it was made; the link stops working then.")
    email_sent_at = serializers.DateTimeField(allow_null=True, help_text="Null until the email has gone out.")


class InvitationListSerializer(serializers.Serializer):
    items = InvitationSerializer(many=True)


class InvitationCreateSerializer(BodySerializer):
    email = serializers.EmailField(max_length=254, help_text="The colleague's address; the link is emailed there.")
    role = serializers.ChoiceField(choices=ROLES, help_text=ROLE_HELP)


class MembershipEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField(
        help_text="invited, invitation_revoked, joined, role_changed, removed or ownership_transferred."
    )
    actor = serializers.CharField(allow_blank=True, help_text="Who made the change; blank for staff.")
    subject = serializers.CharField(help_text="Whose membership or invitation changed (an email address).")
    role_before = serializers.CharField(allow_blank=True)
    role_after = serializers.CharField(allow_blank=True)
    summary = serializers.CharField()


class MembershipEventListSerializer(serializers.Serializer):
    items = MembershipEventSerializer(many=True)
