"""snapshots.expiry_lag: a version row past its retention by more than the
grace (two days) means expiry is not running."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from hubs.monitoring.probes import Probe, probes_for
from snapshots import services
from snapshots.expiry import expiry_run

# Probes run in their own thread, on their own connection: committed data only.
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def lag_probe() -> Probe:
    return next(probe for probe in probes_for("uk") if probe.name == "snapshots.expiry_lag")


def test_a_version_past_its_retention_fails_after_the_grace_and_passes_once_expiry_ran(make_tenant) -> None:
    tenant = make_tenant(hub="uk").tenant
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for content in (b"first", b"second"):  # the second write closes the first version
            services.file_write(
                tenant=tenant,
                path="/report.txt",
                stream=io.BytesIO(content),
                content_length=len(content),
                acting_user=None,
            )
    assert lag_probe().severity == "warning" and lag_probe().component == "snapshots"
    assert lag_probe().run().ok

    with time_machine.travel(start + timedelta(days=28, hours=47), tick=False):
        within = lag_probe().run()
    with time_machine.travel(start + timedelta(days=28, hours=49), tick=False):
        late = lag_probe().run()
        expiry_run(hub_code="uk")
        after_expiry = lag_probe().run()

    assert within.ok, within.detail
    assert within.detail == "oldest row past its retention by 47 h (fails above 48 h)"
    assert not late.ok
    assert late.detail == "oldest row past its retention by 49 h (fails above 48 h)"
    assert "report" not in late.detail
    assert after_expiry.ok and after_expiry.detail == "nothing past its retention"
