"""The support staff's admin for the customer side: tenants, memberships,
users, two-factor devices and the staff audit log.

Every ModelAdmin here is audited (portal.admin.audit.StaffAuditMixin). The
admin site itself is an OTP admin site (portal.admin_site): staff need a
verified two-factor device to enter it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import DatabaseError, router, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.html import format_html
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from hubs.display import bytes_label
from hubs.models import Membership, StaffAuditEntry, Tenant
from portal.admin.audit import AuditedModelAdmin, StaffAuditMixin, audit_mark_done, audit_set_verb
from portal.admin.integrity import IntegrityViews
from portal.admin.memberships import MembershipInline, memberships_save_formset
from portal.admin.tenant_data import TenantDataViews, take_snapshot_now, tenant_data_links
from portal.models import AuthenticatorDevice, BackupCodeDevice, User
from portal.services.staff import MAX_LIMIT_BYTES, tenant_admin_change, tenant_admin_create, tenant_admin_provision
from portal.services.tenants import RESERVED_SLUGS
from portal.signed_in import signed_in_user
from snapshots.models import TenantClock
from snapshots.selectors import live_usage as store_live_usage

# SECTION: tenants and memberships


class TenantAdminForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ("name", "slug", "hub", "require_two_factor", "quota_bytes", "max_file_bytes", "snapshot_schedule")
        help_texts = {
            "hub": "The tenant's data lives in this hub and never leaves it. It cannot be changed later.",
            "snapshot_schedule": "How often a scheduled snapshot is taken. The tenant's owners and admins can "
            "change it too, on their Snapshots page.",
        }

    # Declared here rather than generated from the BIGINT columns, whose form
    # fields would accept zero and negative numbers.
    quota_bytes = forms.IntegerField(label="Quota (bytes)", required=False, min_value=1, max_value=MAX_LIMIT_BYTES)
    max_file_bytes = forms.IntegerField(
        label="Largest file (bytes)", required=False, min_value=1, max_value=MAX_LIMIT_BYTES
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per form, not at import: the defaults are settings, read when the page is shown.
        limits = {
            "quota_bytes": ("Live bytes the tenant may store", settings.HUBPORT_DEFAULT_QUOTA_BYTES),
            "max_file_bytes": ("Largest single file the tenant may upload", settings.HUBPORT_MAX_FILE_BYTES),
        }
        for name, (meaning, default) in limits.items():
            self.fields[name].help_text = (
                f"{meaning}, in bytes. Leave empty for the default, {bytes_label(default, exact=True)}; "
                f"for example {1024**3} is 1 GiB."
            )

        # Has a default, so a form posted without it (a script, an older page) keeps the current value.
        self.fields["snapshot_schedule"].required = False

    def clean_snapshot_schedule(self) -> str:
        return self.cleaned_data.get("snapshot_schedule") or self.instance.snapshot_schedule

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise ValidationError(f"The address {slug!r} is reserved. Choose another.")
        return slug


@admin.register(Tenant)
class TenantAdmin(AuditedModelAdmin[Tenant]):
    form = TenantAdminForm
    # Monitoring's probe tenants stay visible to staff, labelled and filterable.
    list_display = ("name", "slug", "hub", "owner_email", "created_at", "is_provisioned", "is_probe", tenant_data_links)
    list_filter = ("hub", "require_two_factor", "is_probe")
    search_fields = ("name", "slug", "memberships__user__email")
    search_help_text = "Search by name, slug or a member's email address."
    list_select_related = ("hub",)
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("name", "slug", "hub", "require_two_factor", "created_at", "provisioned_at", "is_probe")}),
        ("Storage and snapshots", {"fields": ("quota_bytes", "max_file_bytes", "snapshot_schedule", "live_usage")}),
    )
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)
    actions = ("provision_in_hub", take_snapshot_now)

    def get_urls(self) -> list[URLPattern]:
        # The tenant's snapshots, restore jobs and purge (portal.admin.tenant_data),
        # first: the admin's own "<path:object_id>/" pattern would match them.
        return TenantDataViews(self).urls() + IntegrityViews(self).urls() + super().get_urls()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        owners = Membership.objects.filter(role=Membership.Role.OWNER).select_related("user").order_by("created_at")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("memberships", queryset=owners, to_attr="owner_memberships"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> tuple[str, ...]:
        # The hub is chosen once, explicitly, on the add form: its data never leaves it.
        if obj is None:
            return ("created_at", "provisioned_at", "is_probe")
        return ("hub", "created_at", "provisioned_at", "live_usage", "is_probe")

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if obj is not None:
            return self.fieldsets
        # A tenant being added has no space in its hub yet, so no usage to show.
        return tuple(
            (title, {**options, "fields": tuple(name for name in options["fields"] if name != "live_usage")})
            for title, options in self.fieldsets or ()
        )

    def get_prepopulated_fields(self, request: HttpRequest, obj: Tenant | None = None) -> dict[str, Sequence[str]]:
        return self.prepopulated_fields if obj is None else {}

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # Deleting a tenant means purging its content in its hub database and
        # storages, which the control-plane admin cannot do; never from here.
        return False

    @admin.display(description="Owner email")
    def owner_email(self, tenant: Tenant) -> str:
        owners = getattr(tenant, "owner_memberships", None)
        if owners is None:
            owners = tenant.memberships.filter(role=Membership.Role.OWNER).select_related("user")
        return ", ".join(membership.user.email for membership in owners)

    @admin.display(description="Live usage")
    def live_usage(self, tenant: Tenant) -> str:
        """Two indexed reads of the root folder's running totals in the hub
        database, whatever the number of files."""
        if tenant.pk is None or tenant.provisioned_at is None:
            return "Not provisioned yet"
        try:
            usage = store_live_usage(tenant=tenant)
        except (DatabaseError, TenantClock.DoesNotExist):
            return "Hub unavailable"
        quota = tenant.effective_quota_bytes
        share = usage.live_bytes / quota * 100 if quota else 0.0
        return (
            f"{bytes_label(usage.live_bytes, exact=True)} in {usage.live_files:,} "
            f"file{'s' if usage.live_files != 1 else ''}: {share:.1f}% of the quota of {bytes_label(quota)}"
        )

    @admin.display(description="Provisioned", boolean=True, ordering="provisioned_at")
    def is_provisioned(self, tenant: Tenant) -> bool:
        return tenant.provisioned_at is not None

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        # The services save and write the one audit entry; the form only parsed.
        if change:
            values = form.cleaned_data
            tenant_admin_change(
                tenant=obj,
                acting_user=signed_in_user(request),
                name=values["name"],
                slug=values["slug"],
                require_two_factor=bool(values.get("require_two_factor")),
                snapshot_schedule=values["snapshot_schedule"],
                quota_bytes=values.get("quota_bytes"),
                max_file_bytes=values.get("max_file_bytes"),
            )
            obj.refresh_from_db()
        else:
            tenant_admin_create(tenant=obj, acting_user=signed_in_user(request))
        audit_mark_done(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is Membership:
            memberships_save_formset(request, formset, tenant=form.instance)
            return
        super().save_formset(request, form, formset, change)

    @admin.action(description="Provision selected tenants in their hub", permissions=["change"])
    def provision_in_hub(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        done, failed = 0, []
        for tenant in queryset:
            try:
                tenant_admin_provision(tenant=tenant, acting_user=signed_in_user(request))
            except DatabaseError:
                failed.append(tenant.slug)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} tenant(s) provisioned in their hub.", messages.SUCCESS)
        if failed:
            self.message_user(
                request,
                f"Provisioning failed for {', '.join(failed)}: their hub database did not answer. Try again.",
                messages.ERROR,
            )


# SECTION: users (email is the username)


def _email_taken(email: str, *, except_pk: int | None = None) -> bool:
    others = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
    if except_pk is not None:
        others = others.exclude(pk=except_pk)
    return others.exists()


class StaffUserCreationForm(BaseUserCreationForm):
    """A new user: an email address (also the username) and a password."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if _email_taken(email):
            raise ValidationError("A user with this email address already exists.")
        # Set before the password validators run, which compare it with the username.
        self.instance.username = email
        return email


class StaffUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes: ClassVar[dict[str, type[forms.Field]]] = {}

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if _email_taken(email, except_pk=self.instance.pk):
            raise ValidationError("Another user has this email address.")
        self.instance.username = email
        return email


@admin.register(User)
class UserAdmin(StaffAuditMixin, DjangoUserAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_superuser", "is_active", "last_login")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        readonly: tuple[str, ...] = ("last_login", "date_joined")
        if not request.user.is_superuser:
            # Staff who are not superusers cannot grant themselves or others more power.
            readonly += ("is_superuser", "groups", "user_permissions")
        return readonly

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        with transaction.atomic(using=router.db_for_write(User)):
            audit_set_verb(request, "password_change")
            return super().user_change_password(request, id, form_url)


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(StaffAuditMixin, DjangoGroupAdmin):
    pass


# SECTION: two-factor devices
# Hubport's own devices (portal.models), audited. Staff see whose device it is
# and when it was used, never a key or a code: the sealed columns are not shown,
# so a device can be renamed, unconfirmed or deleted, not read. django-otp's
# TOTPDevice and StaticDevice hold nothing since migration portal 0003.

for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(AuthenticatorDevice)
class AuthenticatorDeviceAdmin(StaffAuditMixin, admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__email", "name")
    raw_id_fields = ("user",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    readonly_fields = ("created_at", "last_used_at", "throttling_failure_count")


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(StaffAuditMixin, admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "codes_left", "last_used_at")
    search_fields = ("user__email", "name")
    raw_id_fields = ("user",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = ("created_at", "last_used_at")

    @admin.display(description="codes left")
    def codes_left(self, obj: BackupCodeDevice) -> int:
        return obj.codes.count()


# SECTION: staff audit log (read only)


class ActorFilter(admin.SimpleListFilter):
    """Filters by the actor's email, which the entry keeps even after the user is deleted."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        emails = (
            StaffAuditEntry.objects.exclude(actor_email="")
            .order_by("actor_email")
            .values_list("actor_email", flat=True)
            .distinct()
        )
        return [("-", "(system)")] + [(email, email) for email in emails]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "-":
            return queryset.filter(actor_email="")
        if value:
            return queryset.filter(actor_email=value)
        return queryset


def _pretty_json(value: Any) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


@admin.register(StaffAuditEntry)
class StaffAuditEntryAdmin(AuditedModelAdmin):
    list_display = ("at", "actor_email", "action", "target_type", "target_id", "target_repr", "tenant", "changed")
    list_filter = ("action", ActorFilter, "target_type")
    search_fields = ("actor_email", "action", "target_type", "target_id", "target_repr", "reason", "tenant__slug")
    list_select_related = ("tenant",)
    date_hierarchy = "at"
    actions = None
    fields = (
        "at",
        "actor",
        "actor_email",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "tenant",
        "hub_record_id",
        "reason",
        "before_pretty",
        "after_pretty",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StaffAuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StaffAuditEntry | None = None) -> bool:
        return False

    @admin.display(description="Changed fields")
    def changed(self, entry: StaffAuditEntry) -> str:
        before, after = entry.before or {}, entry.after or {}
        return ", ".join(sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key)))

    @admin.display(description="Before")
    def before_pretty(self, entry: StaffAuditEntry) -> str:
        return _pretty_json(entry.before)

    @admin.display(description="After")
    def after_pretty(self, entry: StaffAuditEntry) -> str:
        return _pretty_json(entry.after)
