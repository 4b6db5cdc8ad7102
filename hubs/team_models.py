"""A tenant's team beyond its memberships: invitations by email, and the
membership events every member reads (who invited, joined, changed role, was
removed, took over ownership). Kept beside ``hubs.models`` (which re-exports
them) so that module stays under its 500 lines; other models are named by
their labels, so this module never imports ``hubs.models`` back.

Control plane: an email address and a role are no file names, and the events
are hub-agnostic, so they live here, not in the hub's activity log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

ROLE_CHOICES = [("owner", "Owner"), ("admin", "Admin"), ("member", "Member"), ("read_only", "Read-only")]
ROLE_LABELS = {"owner": "owner", "admin": "admin", "member": "member", "read_only": "read-only"}


class Invitation(models.Model):
    """An email address asked to join a tenant with a role. Open until accepted,
    revoked or past ``expires_at``; the emailed link is a signed token carrying
    the id and ``nonce`` (``hubs.services.invitations``), so a revoked or
    replaced invitation's link is dead even within its seven days."""

    tenant = models.ForeignKey("hubs.Tenant", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(help_text="Lower-cased; only an account with this address may accept.")
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    nonce = models.CharField(max_length=64, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    email_sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open invitation per address and tenant: inviting again replaces it.
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_tenant_email",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "admin", "member", "read_only"]), name="invitation_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} to tenant {self.tenant_id} ({self.role})"


class MembershipEvent(models.Model):
    """One change to a tenant's team, shown to its members (Members → History)
    and kept as long as the tenant. Emails are copied, so the row still reads
    right after the person's account or membership is gone."""

    class Kind(models.TextChoices):
        INVITED = "invited", "Invited"
        INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
        JOINED = "joined", "Joined"
        ROLE_CHANGED = "role_changed", "Role changed"
        REMOVED = "removed", "Removed"
        OWNERSHIP_TRANSFERRED = "ownership_transferred", "Ownership transferred"

    tenant = models.ForeignKey("hubs.Tenant", on_delete=models.CASCADE, related_name="membership_events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    by_staff = models.BooleanField(default=False, help_text="Made by Hubport staff in the admin.")
    subject_email = models.CharField(max_length=254)
    role_before = models.CharField(max_length=16, blank=True)
    role_after = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "-at", "-id"], name="membership_event_tenant_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} in tenant {self.tenant_id} at {self.at:%Y-%m-%d %H:%M} UTC"

    @property
    def summary(self) -> str:
        """The event as a sentence, for the members page and the API."""
        who = "Hubport support" if self.by_staff else (self.actor_email or "Someone")
        before, after = ROLE_LABELS.get(self.role_before, ""), ROLE_LABELS.get(self.role_after, "")
        subject = self.subject_email
        match self.kind:
            case self.Kind.INVITED:
                return f"{who} invited {subject} as {after}."
            case self.Kind.INVITATION_REVOKED:
                return f"{who} withdrew the invitation to {subject}."
            case self.Kind.JOINED if self.by_staff:
                return f"Hubport support added {subject} as {after}."
            case self.Kind.JOINED:
                return f"{subject} joined as {after}."
            case self.Kind.ROLE_CHANGED:
                return f"{who} changed {subject} from {before} to {after}."
            case self.Kind.REMOVED if subject == self.actor_email and not self.by_staff:
                return f"{subject} left."
            case self.Kind.REMOVED:
                return f"{who} removed {subject} ({before})."
            case self.Kind.OWNERSHIP_TRANSFERRED:
                return f"{who} handed ownership to {subject}."
        return f"{self.get_kind_display()}: {subject}."
