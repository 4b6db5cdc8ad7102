"""The staff audit log: who did which kind of action to what, and when.

Every service that a person acts through writes its entry with
``audit_record`` inside its own transaction, so a change and its entry commit
or roll back together. ``audit_snapshot`` is the before/after picture of a
control-plane row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.forms.models import model_to_dict

from hubs.models import StaffAuditEntry, Tenant

if TYPE_CHECKING:
    from portal.models import User


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    tenant: Tenant | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    hub_record_id: str = "",
) -> StaffAuditEntry:
    """Write one staff audit entry. Callers run it inside their own transaction."""
    if target is not None:
        target_type = target_type or target._meta.label
        target_id = target_id or str(target.pk)
    return StaffAuditEntry.objects.create(
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=str(target)[:200] if target is not None else "",
        tenant=tenant,
        before=before,
        after=after,
        reason=reason,
        hub_record_id=hub_record_id,
    )


def audit_snapshot(instance: Any) -> dict[str, Any]:
    """A JSON-safe picture of a control-plane row for the before/after of an audit entry."""
    values = model_to_dict(instance)
    return {key: _jsonable(value) for key, value in values.items() if key not in {"password"}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "pk"):
        return value.pk
    return str(value)
