"""Settings → Members: the team, its pending invitations and its history; and
the owners' and admins' actions (invite, withdraw, change a role, remove,
hand on ownership). Each action calls one service; a refusal (a role that does
not allow it, the last owner) comes back as a message on the page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hubs.errors import InvitationRefused, MembershipRefused
from hubs.roles import Action, role_permits
from hubs.services.invitations import invitation_create, invitation_revoke, invitations_open
from hubs.services.memberships import member_remove, member_role_change, ownership_transfer
from portal.forms.team import InviteForm, RoleForm
from portal.selectors import membership_events, team_members
from portal.signed_in import signed_in_user
from portal.views.files.access import request_tenant, tenant_required
from portal.views.refusals import page_refusals


def _back(request: HttpRequest, *args: object, **kwargs: object) -> str:
    return reverse("members")


@tenant_required
@require_GET
def members(request: HttpRequest) -> HttpResponse:
    tenant = request_tenant(request)
    membership = request.membership  # type: ignore[attr-defined]
    may_manage = role_permits(membership.role, Action.MANAGE_MEMBERS)
    rows = team_members(tenant=tenant)
    return render(
        request,
        "portal/team/members.html",
        {
            "tenant": tenant,
            "me": membership,
            "members": rows,
            "owner_count": sum(row.membership.role == "owner" for row in rows),
            "invitations": list(invitations_open(tenant=tenant)) if may_manage else [],
            "events": membership_events(tenant=tenant),
            "may_manage": may_manage,
            "may_manage_owners": role_permits(membership.role, Action.MANAGE_OWNERS),
            "invite_form": InviteForm(),
            "roles": RoleForm.base_fields["role"].choices,  # type: ignore[attr-defined]
            "now": timezone.now(),
        },
    )


@tenant_required
@require_POST
@page_refusals(back=_back)
def member_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        raise InvitationRefused(str(first))
    invitation = invitation_create(
        tenant=request_tenant(request),
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        acting_user=signed_in_user(request),
    )
    messages.success(
        request, f"Invitation sent to {invitation.email} as {invitation.get_role_display().lower()}; valid 7 days."
    )
    return HttpResponseRedirect(reverse("members"))


@tenant_required
@require_POST
@page_refusals(back=_back)
def invitation_withdraw(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_revoke(
        tenant=request_tenant(request), invitation_id=invitation_id, acting_user=signed_in_user(request)
    )
    messages.success(request, f"The invitation to {invitation.email} is withdrawn; its link no longer works.")
    return HttpResponseRedirect(reverse("members"))


@tenant_required
@require_POST
@page_refusals(back=_back)
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise MembershipRefused("Choose one of the roles listed.")
    changed = member_role_change(
        tenant=request_tenant(request),
        membership_id=membership_id,
        role=form.cleaned_data["role"],
        acting_user=signed_in_user(request),
    )
    messages.success(request, f"{changed.user.email} is now {changed.get_role_display().lower()}.")
    return HttpResponseRedirect(reverse("members"))


@tenant_required
@require_POST
@page_refusals(back=_back)
def member_delete(request: HttpRequest, membership_id: int) -> HttpResponse:
    acting_user = signed_in_user(request)
    leaving_self = request.membership.pk == membership_id  # type: ignore[attr-defined]
    member_remove(tenant=request_tenant(request), membership_id=membership_id, acting_user=acting_user)
    if leaving_self:
        messages.success(request, "You have left the workspace.")
        return HttpResponseRedirect(reverse("home"))
    messages.success(request, "The member is removed: their sessions and API tokens no longer reach this workspace.")
    return HttpResponseRedirect(reverse("members"))


@tenant_required
@require_POST
@page_refusals(back=_back)
def member_transfer(request: HttpRequest, membership_id: int) -> HttpResponse:
    new_owner = ownership_transfer(
        tenant=request_tenant(request), membership_id=membership_id, acting_user=signed_in_user(request)
    )
    messages.success(request, f"{new_owner.user.email} is now an owner; you are an admin.")
    return HttpResponseRedirect(reverse("members"))
