"""The invitation email: who invites whom to which workspace, with which role,
and the link valid until when. Sent by ``hubs.tasks.invitation_email_task``,
queued after commit by ``hubs.services.invitations``; this module queues
nothing, so the task imports it without importing itself back."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from hubs.formatting import format_local, format_utc
from hubs.invitation_links import invitation_link
from hubs.models import Invitation

logger = logging.getLogger(__name__)

ROLE_SENTENCES = {
    "owner": "As an owner you can do everything, including managing members, owners and the workspace's security.",
    "admin": "As an admin you can work with the files and invite and manage members.",
    "member": "As a member you can upload, change, delete and restore files.",
    "read_only": "As a read-only member you can browse and download files and see their history.",
}


def invitation_email(invitation: Invitation) -> EmailMessage:
    tenant = invitation.tenant
    inviter = invitation.invited_by.email if invitation.invited_by is not None else "Hubport support"
    context = {
        "inviter": inviter,
        "tenant_name": tenant.name,
        "role_label": invitation.get_role_display(),
        "role_sentence": ROLE_SENTENCES[invitation.role],
        "link": invitation_link(invitation),
        "expires_utc": format_utc(invitation.expires_at),
        "expires_local": format_local(invitation.expires_at, tenant.hub.zone),
        "hub_zone": tenant.hub.time_zone,
    }
    body = render_to_string("emails/team/invitation.txt", context)
    subject = f"{inviter} invited you to {tenant.name} on Hubport"
    return EmailMessage(subject=subject, body=body, to=[invitation.email])


def invitation_email_send(*, invitation_id: int) -> str:
    """Send an open invitation's email and note when; one withdrawn, used or gone
    meanwhile is not sent."""
    invitation = (
        Invitation.objects.select_related("tenant", "tenant__hub", "invited_by").filter(pk=invitation_id).first()
    )
    if invitation is None or invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= timezone.now():
        logger.info("Invitation %s is no longer open; its email is not sent", invitation_id)
        return "not open"
    invitation_email(invitation).send(fail_silently=False)
    with transaction.atomic(using="default"):
        Invitation.objects.filter(pk=invitation.pk).update(email_sent_at=timezone.now())
    return "sent"
