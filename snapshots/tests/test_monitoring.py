"""The store's probes, registered with hubs' registry: the hub database's write,
replication, restores, freshness; and no detail ever names a customer's file."""

from __future__ import annotations

import io

import pytest

from hubs.models import ProbeResult
from hubs.monitoring.probes import probes_for
from hubs.routing import hub_database_alias
from hubs.services.probes import probe_round_run
from snapshots import services
from snapshots.models import Blob, HubHeartbeat

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

MARKER = "zq-marker-7f3a"


def test_the_store_registers_its_probes_for_every_hub_and_none_for_the_control_plane() -> None:
    store = {"database.write", "replication.backlog", "restores.stalled", "snapshots.freshness"}
    assert store <= {probe.name for probe in probes_for("hk")}
    assert not store & {probe.name for probe in probes_for(None)}


def test_the_hub_database_write_probe_updates_the_hub_heartbeat_row() -> None:
    probe = next(probe for probe in probes_for("ae") if probe.name == "database.write")

    outcome = probe.run()

    assert outcome.ok, outcome.detail
    assert HubHeartbeat.objects.using(hub_database_alias("ae")).get(hub_code="ae").at is not None
    assert not HubHeartbeat.objects.using(hub_database_alias("uk")).exists()


def test_no_detail_names_a_customer_file_even_when_probes_fail(make_tenant) -> None:
    made = make_tenant(hub="uk")
    content = b"board minutes"
    services.file_write(
        tenant=made.tenant,
        path=f"/{MARKER}-board.txt",
        stream=io.BytesIO(content),
        content_length=len(content),
        acting_user=made.user,
    )
    Blob.objects.for_tenant(made.tenant).update(needs_replication=True)  # a backlog the probe reports

    rows = probe_round_run(hub_code="uk")

    backlog = next(row for row in rows if row.name == "replication.backlog")
    assert backlog.detail.startswith("1 blobs (13 bytes) waiting")
    details = list(ProbeResult.objects.values_list("detail", flat=True))
    assert len(details) == len(rows)
    assert not [detail for detail in details if MARKER in detail or "board" in detail]
