"""Every staff change made in the admin is written to the staff audit log.

``StaffAuditMixin`` goes first in the bases of every ModelAdmin and inline we
register. It hooks the points the admin itself goes through, all of which run
inside the transaction the admin opens on the model's database:

- add and change views, and list_editable saves: ``log_addition`` /
  ``log_change``, called after the object, its many-to-many fields and its
  inlines are saved, so "after" is the final state. "Before" is taken when the
  admin loads the object (``get_object``), before the form touches it, or
  read back from the database in ``save_model`` (list_editable rows);
- inline rows: ``save_formset``, one entry per added, changed or deleted row;
- delete view and the bulk "delete selected" action: ``delete_model`` /
  ``delete_queryset``, one entry per object, written before the delete.

Where a service exists, the admin saves through it and the service writes the
one audit entry inside its transaction; the ModelAdmin then calls
``audit_mark_done`` so the mixin writes no second one: tenants
(``portal.services.staff.tenant_admin_create``, ``tenant_admin_change``),
memberships (``hubs.services.membership_*``), facilities
(``hubs.services.facility_change``), maintenance windows, and every custom
action (for example ``hubs.services.hub_fail_over``).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.contrib import admin
from django.db import models, router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from hubs.models import Tenant
from hubs.services import audit_record, audit_snapshot

# Never copied into the audit log: password hashes, TOTP keys, backup codes.
AUDIT_SECRET_FIELDS = frozenset({"password", "key", "bin_key", "token", "sealed_key", "sealed_hash_key", "code_hash"})

_BEFORE_ATTR = "_staff_audit_before"
_DONE_ATTR = "_staff_audit_done"
_VERB_ATTR = "_staff_audit_verb"


def _object_key(obj: models.Model) -> tuple[str, str]:
    return (obj._meta.label, str(obj.pk))


def _request_store(request: HttpRequest, attr: str, factory: type) -> Any:
    store = getattr(request, attr, None)
    if store is None:
        store = factory()
        setattr(request, attr, store)
    return store


def audit_values(obj: models.Model) -> dict[str, Any]:
    """The audit snapshot of ``obj`` without its secrets."""
    return {key: value for key, value in audit_snapshot(obj).items() if key not in AUDIT_SECRET_FIELDS}


def audit_tenant_of(obj: models.Model) -> Tenant | None:
    if isinstance(obj, Tenant):
        return obj if obj.pk is not None else None
    tenant = getattr(obj, "tenant", None)
    return tenant if isinstance(tenant, Tenant) else None


def audit_write(
    request: HttpRequest,
    *,
    obj: models.Model,
    verb: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str = "",
) -> None:
    audit_record(
        actor=request.user if request.user.is_authenticated else None,
        action=f"{obj._meta.model_name}.{verb}",
        target=obj,
        tenant=audit_tenant_of(obj),
        before=before,
        after=after,
        reason=reason,
    )


def audit_mark_done(request: HttpRequest, obj: models.Model) -> None:
    """A service already audited this save of ``obj``; the mixin must not write a second entry."""
    _request_store(request, _DONE_ATTR, set).add(_object_key(obj))


def audit_set_verb(request: HttpRequest, verb: str) -> None:
    """Name the next ``log_change`` differently (e.g. ``password_change``)."""
    setattr(request, _VERB_ATTR, verb)


# The model of the ModelAdmin the mixin goes into, so its save_model can take that model.
_ModelT = TypeVar("_ModelT", bound=models.Model)


class StaffAuditMixin(Generic[_ModelT]):
    """Writes a StaffAuditEntry for every add, change and delete made through this admin."""

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is not None:
            _request_store(request, _BEFORE_ATTR, dict).setdefault(_object_key(obj), audit_values(obj))
        return obj

    def save_model(self, request: HttpRequest, obj: _ModelT, form: Any, change: bool) -> None:
        if change:
            before_store = _request_store(request, _BEFORE_ATTR, dict)
            if _object_key(obj) not in before_store:
                stored = type(obj)._base_manager.using(obj._state.db or "default").filter(pk=obj.pk).first()
                before_store[_object_key(obj)] = audit_values(stored) if stored is not None else None
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        if _object_key(obj) not in _request_store(request, _DONE_ATTR, set):
            audit_write(request, obj=obj, verb="add", before=None, after=audit_values(obj))
        return entry

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        if _object_key(obj) in _request_store(request, _DONE_ATTR, set):
            return entry
        before = _request_store(request, _BEFORE_ATTR, dict).pop(_object_key(obj), None)
        after = audit_values(obj)
        verb = getattr(request, _VERB_ATTR, None) or "change"
        # A save that changed no field of the object itself (only its inline
        # rows, each audited on its own) is not a change of the object.
        if verb != "change" or before != after:
            audit_write(request, obj=obj, verb=verb, before=before, after=after)
        return entry

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        audit_write(request, obj=obj, verb="delete", before=audit_values(obj), after=None)
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The bulk action is not wrapped in a transaction by the admin itself.
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            for obj in queryset:
                audit_write(request, obj=obj, verb="delete", before=audit_values(obj), after=None)
            super().delete_queryset(request, queryset)  # type: ignore[misc]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Inline forms have already written the posted values into their
        # instances while validating; the database still holds "before".
        before_by_pk: dict[Any, dict[str, Any]] = {}
        for inline_form in formset.initial_forms:
            instance = inline_form.instance
            if instance.pk is None:
                continue
            if inline_form in formset.deleted_forms or inline_form.has_changed():
                stored = type(instance)._base_manager.using(instance._state.db or "default").filter(pk=instance.pk)
                stored_instance = stored.first()
                if stored_instance is not None:
                    before_by_pk[instance.pk] = audit_values(stored_instance)
        deleted = [(inline_form.instance, inline_form.instance.pk) for inline_form in formset.deleted_forms]
        for instance, pk in deleted:
            if pk is not None:
                audit_write(request, obj=instance, verb="delete", before=before_by_pk.get(pk), after=None)
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for instance in formset.new_objects:
            audit_write(request, obj=instance, verb="add", before=None, after=audit_values(instance))
        for instance, _changed_fields in formset.changed_objects:
            audit_write(
                request, obj=instance, verb="change", before=before_by_pk.get(instance.pk), after=audit_values(instance)
            )


class AuditedModelAdmin(StaffAuditMixin[_ModelT], admin.ModelAdmin):
    """A ModelAdmin whose every change is audited."""
