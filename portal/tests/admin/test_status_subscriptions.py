"""The status subscriptions admin: deliveries are read-only; failed ones are
sent again through the service, which audits."""

from __future__ import annotations

import pytest

from conftest import all_databases
from hubs.models import StaffAuditEntry, StatusDelivery, StatusSubscription
from portal.tests.admin.test_accounts import login_verified

pytestmark = all_databases


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


def test_failed_deliveries_are_retried_through_the_service(staff_client):
    subscription = StatusSubscription.objects.create(email="a@example.test", state="active")
    failed = StatusDelivery.objects.create(
        subscription=subscription, email=subscription.email, kind="confirmation", state="failed", attempts=6
    )
    sent = StatusDelivery.objects.create(
        subscription=subscription, email=subscription.email, kind="confirmation", state="sent", attempts=1
    )
    assert staff_client.get("/admin/hubs/statusdelivery/").status_code == 200
    assert staff_client.get(f"/admin/hubs/statusdelivery/{failed.pk}/change/").status_code == 200
    response = staff_client.post(
        "/admin/hubs/statusdelivery/", {"action": "retry", "_selected_action": [failed.pk, sent.pk]}, follow=True
    )
    assert "1 failed deliveries queued again." in response.content.decode()
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.state, failed.attempts, sent.state) == ("pending", 0, "sent")
    assert StaffAuditEntry.objects.filter(action="statusdelivery.retry", target_id=str(failed.pk)).count() == 1
    assert staff_client.get("/admin/hubs/statussubscription/").status_code == 200
