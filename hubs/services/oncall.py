"""Who is on call, and the policy copied onto an incident when it opens.

A rota hands the pager from one participant to the next every
``handoff_hours`` counted from its ``starts_at`` (participants in their
``position`` order, inactive people skipped); an override covering the moment
wins, the latest-starting one if several do. ``oncall_defaults_ensure`` makes
the default rota and policy a small install needs (``manage.py create_staff
--on-call``). Nothing here queues a task.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from hubs.models import EscalationPolicy, EscalationStep, OnCallRota, RotaOverride, RotaParticipant
from hubs.services.audit import audit_record, audit_snapshot

if TYPE_CHECKING:
    from portal.models import User

DEFAULT_ROTA_NAME = "Duty engineers"
DEFAULT_POLICY_NAME = "Default escalation"


def escalate_after_minutes() -> int:
    """A step's wait when it names none (HUBPORT_ALERT_ESCALATE_AFTER_MINUTES, 15 by default)."""
    return int(getattr(settings, "HUBPORT_ALERT_ESCALATE_AFTER_MINUTES", 15))


def on_call_user_id(*, rota: OnCallRota, at: datetime) -> int | None:
    """The user carrying the rota's pager at ``at``: an override first, else the rotation."""
    override = (
        RotaOverride.objects.filter(rota=rota, starts_at__lte=at, ends_at__gt=at, user__is_active=True)
        .order_by("-starts_at", "-id")
        .first()
    )
    if override is not None:
        return override.user_id
    participants = list(
        RotaParticipant.objects.filter(rota=rota, user__is_active=True)
        .order_by("position", "id")
        .values_list("user_id", flat=True)
    )
    if not participants:
        return None
    # Floor division counts whole handoffs, also before starts_at (negative slots).
    slot = (at - rota.starts_at) // timedelta(hours=rota.handoff_hours)
    return participants[slot % len(participants)]


def policy_steps_snapshot(policy: EscalationPolicy | None) -> list[dict[str, Any]]:
    """The policy's steps as plain data, each wait resolved to minutes."""
    if policy is None:
        return []
    steps = []
    for step in EscalationStep.objects.filter(policy=policy).select_related("rota", "user").order_by("position", "id"):
        if step.rota is not None:
            label = f"on-call of {step.rota.name}"
        else:
            assert step.user is not None  # the check constraint: a rota or a user
            label = step.user.email or step.user.get_username()
        steps.append(
            {
                "rota_id": step.rota_id,
                "user_id": step.user_id,
                "label": label,
                "wait_minutes": step.wait_minutes if step.wait_minutes is not None else escalate_after_minutes(),
            }
        )
    return steps


def step_user_ids(step: dict[str, Any], *, at: datetime) -> list[int]:
    """Who a snapshot step pages at ``at``: the named user, or the rota's on-call (none if the rota is gone)."""
    if step.get("user_id"):
        active = get_user_model().objects.filter(pk=step["user_id"], is_active=True).exists()
        return [step["user_id"]] if active else []
    rota = OnCallRota.objects.filter(pk=step["rota_id"]).first() if step.get("rota_id") else None
    if rota is None:
        return []
    user_id = on_call_user_id(rota=rota, at=at)
    return [user_id] if user_id is not None else []


def default_policy() -> EscalationPolicy | None:
    return EscalationPolicy.objects.filter(is_default=True).first()


def oncall_defaults_ensure(*, now: datetime | None = None) -> tuple[OnCallRota, EscalationPolicy]:
    """The default rota and the default policy (one step: its on-call), made if missing."""
    now = now or timezone.now()
    with transaction.atomic(using="default"):
        rota = OnCallRota.objects.select_for_update().filter(is_default=True).first()
        if rota is None:
            rota = OnCallRota.objects.filter(name=DEFAULT_ROTA_NAME).first()
            if rota is None:
                rota = OnCallRota.objects.create(name=DEFAULT_ROTA_NAME, is_default=True, starts_at=now)
                audit_record(actor=None, action="oncallrota.add", target=rota, after=audit_snapshot(rota))
            else:
                rota.is_default = True
                rota.save(update_fields=["is_default"])
        policy = EscalationPolicy.objects.select_for_update().filter(is_default=True).first()
        if policy is None:
            policy, created = EscalationPolicy.objects.get_or_create(
                name=DEFAULT_POLICY_NAME, defaults={"is_default": True}
            )
            if not created:
                policy.is_default = True
                policy.save(update_fields=["is_default"])
            if not policy.steps.exists():
                EscalationStep.objects.create(policy=policy, position=0, rota=rota)
            audit_record(actor=None, action="escalationpolicy.add", target=policy, after=audit_snapshot(policy))
    return rota, policy


def rota_participant_add(
    *, user: User, rota: OnCallRota | None = None, acting_user: User | None = None
) -> RotaParticipant:
    """Put ``user`` last in the rota (the default one, made if missing); idempotent."""
    with transaction.atomic(using="default"):
        rota = rota or oncall_defaults_ensure()[0]
        existing = RotaParticipant.objects.filter(rota=rota, user=user).first()
        if existing is not None:
            return existing
        last = RotaParticipant.objects.filter(rota=rota).order_by("-position").values_list("position", flat=True)
        position = (last.first() or 0) + 1 if last.exists() else 0
        participant = RotaParticipant.objects.create(rota=rota, user=user, position=position)
        audit_record(
            actor=acting_user, action="rotaparticipant.add", target=participant, after=audit_snapshot(participant)
        )
    return participant
