"""Settings → Members and the invitation links; included at the root.

The invitation page's address, /invitations/<token>/, is in the emails
invitees get (hubs.invitation_emails): keep it."""

from django.urls import path

from portal.views.team import invitations, members

urlpatterns = [
    path("settings/members/", members.members, name="members"),
    path("settings/members/invite", members.member_invite, name="member_invite"),
    path("settings/members/<int:membership_id>/role", members.member_role, name="member_role"),
    path("settings/members/<int:membership_id>/remove", members.member_delete, name="member_delete"),
    path("settings/members/<int:membership_id>/transfer", members.member_transfer, name="member_transfer"),
    path(
        "settings/members/invitations/<int:invitation_id>/withdraw",
        members.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path("invitations/<str:token>/", invitations.invitation_accept_page, name="invitation_accept"),
    path("invitations/<str:token>/signup", invitations.invitation_signup, name="invitation_signup"),
]
