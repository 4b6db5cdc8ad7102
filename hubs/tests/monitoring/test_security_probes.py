"""The security component is staff-only: its failing probes never mark a
minute down, its incidents reach no subscriber, no public status and no hub's
"up"; and the detectors' counters are bounded and hold nothing in clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from hubs.models import HubUptimeDay, Incident, StatusDelivery, StatusSubscription
from hubs.monitoring.attacks import (
    SPRAYING,
    STUFFING,
    detections_count,
    distinct_record,
    sign_in_failure_observe,
)
from hubs.selectors import open_critical_incidents_by_hub, open_incidents_for_hub
from hubs.services.incidents import Observation, incidents_observe
from hubs.services.uptime import RoundOutcome, minute_of, uptime_round_record
from hubs.uptime_read import hub_statuses, incidents_public

pytestmark = pytest.mark.django_db(databases="__all__")

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def bit(bitmap: bytes, index: int) -> bool:
    return bool(bitmap[index // 8] >> (index % 8) & 1)


def test_a_failing_security_probe_never_marks_a_minute_down_and_a_database_one_does() -> None:
    uptime_round_record(
        hub_code="uk",
        outcomes=[
            RoundOutcome("security.request_rate", "critical", False, "uk", "security"),
            RoundOutcome("database.read", "critical", True, "uk", "database"),
        ],
        at=T0,
    )
    day, index = minute_of(T0)
    row = HubUptimeDay.objects.get(hub_id="uk", day=day)
    assert bit(bytes(row.observed), index) and not bit(bytes(row.down), index)
    uptime_round_record(
        hub_code="uk",
        outcomes=[RoundOutcome("database.read", "critical", False, "uk", "database")],
        at=T0 + timedelta(minutes=1),
    )
    row.refresh_from_db()
    assert bit(bytes(row.down), index + 1)


def security_rounds(hub: str | None, ok: bool = False) -> Incident | None:
    for minute in (0, 1):
        at = T0 + timedelta(minutes=minute)
        incidents_observe(
            observations=[Observation(hub, "security.credential_stuffing", "security", "critical", ok, "3 ...", at)],
            now=at,
        )
    return Incident.objects.filter(hub_id=hub, component="security").first()


def test_a_security_incident_reaches_no_subscriber_no_status_and_leaves_the_hub_up() -> None:
    StatusSubscription.objects.create(email="watcher@example.test", state="active", all_hubs=True)
    incident = security_rounds("uk")
    assert incident is not None and incident.state == Incident.State.INVESTIGATING
    assert not StatusDelivery.objects.exists()
    assert incident not in incidents_public(now=T0 + timedelta(minutes=2))
    status = hub_statuses(now=T0 + timedelta(minutes=2))["uk"]
    assert status.status == "operational"
    assert "security" not in [component.name for component in status.components]
    assert open_incidents_for_hub("uk") == []
    assert open_critical_incidents_by_hub() == {}


def test_spraying_counts_distinct_accounts_per_address_and_stuffing_distinct_addresses_per_account(settings) -> None:
    settings.HUBPORT_DETECT_SPRAYING_ACCOUNTS = 3
    settings.HUBPORT_DETECT_STUFFING_ADDRESSES = 3
    # The same account twice from one address is one account.
    for email in ("a@x.test", "A@x.test", "b@x.test"):
        assert sign_in_failure_observe(address="198.51.100.1", account=email, hub_codes=["uk"], moment=T0) == []
    assert sign_in_failure_observe(address="198.51.100.1", account="c@x.test", hub_codes=[], moment=T0) == [SPRAYING]
    assert detections_count(kind=SPRAYING, hub_code=None, minutes=5, moment=T0) == 1
    for number in (2, 3):
        sign_in_failure_observe(address=f"198.51.100.{number}", account="a@x.test", hub_codes=["uk"], moment=T0)
    assert detections_count(kind=STUFFING, hub_code="uk", minutes=5, moment=T0) == 1
    assert detections_count(kind=STUFFING, hub_code=None, minutes=5, moment=T0) == 0
    # Out of the window, counting starts again.
    later = T0 + timedelta(minutes=16)
    assert sign_in_failure_observe(address="198.51.100.1", account="d@x.test", hub_codes=[], moment=later) == []
    assert detections_count(kind=SPRAYING, hub_code=None, minutes=5, moment=later) == 0


def test_the_distinct_sets_are_bounded_and_hold_no_email_or_address() -> None:
    if not isinstance(getattr(cache, "_cache", None), dict):
        pytest.skip("reads the keys of the in-memory cache")
    for number in range(500):
        distinct_record(kind=STUFFING, subject="victim@example.test", member=f"10.0.{number}.9", cap=10, moment=T0)
    keys = [key for key in cache._cache if "security.stuffing" in key]  # type: ignore[attr-defined]
    member_keys = [key for key in keys if ":member:" in key]
    assert len(member_keys) == 11, "past its cap a subject tracks no more members"
    assert not any("victim" in key or "10.0." in key for key in cache._cache)  # type: ignore[attr-defined]
