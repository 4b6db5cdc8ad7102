"""The one life of every outbox row (maintenance notices, alerts, status
emails): pending, claimed for sending, sent, or failed for good."""

from __future__ import annotations

from django.db import models


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
