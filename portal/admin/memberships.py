"""The support staff's admin for memberships: on their own page and inline on
a tenant's.

Every add, role change and removal goes through the services of
``hubs.services.memberships``, which write one staff audit entry each and
refuse to take a tenant's last owner away. The forms here only parse; before
saving they ask the services' own rule (``membership_owner_refusal``), so the
refusal shows next to the form instead of after a half-made save.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from hubs.errors import MembershipRefused
from hubs.models import Membership, Tenant
from hubs.services import (
    membership_add,
    membership_change_role,
    membership_owner_refusal,
    membership_remove,
)
from portal.admin.audit import AuditedModelAdmin, audit_mark_done
from portal.signed_in import signed_in_user

OWNER = Membership.Role.OWNER


class MembershipInlineFormSet(forms.BaseInlineFormSet):
    """The tenant's memberships as posted; refuses a save that would leave the
    tenant without an owner, or give an existing row to another person."""

    def clean(self) -> None:
        super().clean()
        tenant = self.instance
        leaving: set[int] = set()
        joining_owners = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.has_changed() and form.instance.pk is None:
                continue
            stored_role = form.initial.get("role") if form.instance.pk is not None else None
            deleted = bool(self.can_delete and form.cleaned_data.get("DELETE"))
            new_role = form.cleaned_data.get("role")
            if form.instance.pk is not None and "user" in form.changed_data and not deleted:
                raise ValidationError(
                    "A membership belongs to one person: to give it to someone else, "
                    "remove the row and add one for them."
                )
            if stored_role == OWNER and (deleted or new_role != OWNER):
                leaving.add(form.instance.pk)
            elif new_role == OWNER and not deleted and stored_role != OWNER:
                joining_owners += 1
        if tenant.pk is not None and leaving:
            # The tenant as stored: its form's posted name is not saved yet.
            stored = Tenant.objects.get(pk=tenant.pk)
            refusal = membership_owner_refusal(tenant=stored, leaving=leaving, joining_owners=joining_owners)
            if refusal:
                raise ValidationError(refusal)


def memberships_save_formset(request: HttpRequest, formset: Any, *, tenant: Tenant) -> None:
    """Save a tenant's membership rows through the services: additions and
    promotions first, then demotions, then removals, so that handing ownership
    from one person to another in one save never passes through no owner."""
    acting_user = signed_in_user(request)
    # Sets new_objects, changed_objects and deleted_objects, which the admin's
    # change message reads, without writing anything.
    formset.save(commit=False)
    changed = [(membership, membership.role) for membership, fields in formset.changed_objects if "role" in fields]
    for instance in formset.new_objects:
        added = membership_add(tenant=tenant, user=instance.user, role=instance.role, acting_user=acting_user)
        instance.pk, instance._state.adding = added.pk, False
    for membership, role in sorted(changed, key=lambda pair: pair[1] != OWNER):
        membership_change_role(membership=membership, role=role, acting_user=acting_user)
    for membership in formset.deleted_objects:
        membership_remove(membership=membership, acting_user=acting_user)


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("user", "tenant", "role")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # BaseForm.clean returns cleaned_data
        stored = self.instance
        if stored.pk is not None and self.initial.get("role") == OWNER and cleaned.get("role") != OWNER:
            refusal = membership_owner_refusal(tenant=stored.tenant, leaving={stored.pk}, who=stored.user.email)
            if refusal:
                raise ValidationError(refusal)
        return cleaned


def removal_refusals(queryset: QuerySet[Membership]) -> list[str]:
    """Why removing every membership in ``queryset`` would be refused, per tenant."""
    leaving: dict[int, list[Membership]] = defaultdict(list)
    for membership in queryset.select_related("tenant", "user").filter(role=OWNER):
        leaving[membership.tenant_id].append(membership)
    refusals = [
        membership_owner_refusal(
            tenant=owners[0].tenant,
            leaving={owner.pk for owner in owners},
            who=owners[0].user.email if len(owners) == 1 else "",
        )
        for owners in leaving.values()
    ]
    return [refusal for refusal in refusals if refusal]


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin[Membership]):
    form = MembershipAdminForm
    list_display = ("user", "tenant", "role", "tenant_hub", "created_at")
    list_filter = ("role", "tenant__hub")
    search_fields = ("user__email", "tenant__name", "tenant__slug")
    list_select_related = ("user", "tenant")
    autocomplete_fields = ("user", "tenant")
    fields = ("user", "tenant", "role", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> tuple[str, ...]:
        # A membership is one user in one tenant; moving it is a delete and an add.
        if obj is None:
            return ("created_at",)
        return ("user", "tenant", "created_at")

    @admin.display(description="Hub", ordering="tenant__hub")
    def tenant_hub(self, membership: Membership) -> str:
        return membership.tenant.hub_id

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        acting_user = signed_in_user(request)
        if change:
            membership_change_role(membership=obj, role=form.cleaned_data["role"], acting_user=acting_user)
        else:
            added = membership_add(tenant=obj.tenant, user=obj.user, role=obj.role, acting_user=acting_user)
            obj.pk, obj._state.adding = added.pk, False
        audit_mark_done(request, obj)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        assert isinstance(obj, Membership)
        membership_remove(membership=obj, acting_user=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        with transaction.atomic(using="default"):
            for membership in queryset.select_related("user", "tenant"):
                try:
                    membership_remove(membership=membership, acting_user=signed_in_user(request))
                except MembershipRefused as exc:
                    # Only when another save made this the last owner since the confirmation.
                    self.message_user(request, str(exc), messages.ERROR)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        membership = self.get_object(request, object_id)
        if membership is not None:
            refusals = removal_refusals(Membership.objects.filter(pk=membership.pk))
            if refusals:
                for refusal in refusals:
                    self.message_user(request, refusal, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:hubs_membership_change", args=[membership.pk]))
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        django_delete = actions.get("delete_selected")
        if django_delete is not None:
            description = django_delete[2]
            actions["delete_selected"] = (MembershipAdmin.delete_selected_memberships, "delete_selected", description)
        return actions

    def delete_selected_memberships(self, request: HttpRequest, queryset: QuerySet[Membership]) -> Any:
        """Django's "delete selected", refused up front when it would take a tenant's last owner."""
        refusals = removal_refusals(queryset)
        if refusals:
            for refusal in refusals:
                self.message_user(request, f"Nothing was removed. {refusal}", messages.ERROR)
            return None
        return delete_selected(self, request, queryset)
