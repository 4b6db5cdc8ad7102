"""The scheduled scrub: a pass of the whole hub in slices on the hub's queue,
from a cursor in the hub's database. Each blob is checked exactly once a pass
however the slices fall, a slice resumes where the last stopped (or where a
killed worker's last batch ended), a new pass starts only when one is due,
and the reads keep under HUBPORT_SCRUB_MIB_S."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import all_databases
from hubs.routing import hub_database_alias
from snapshots import services
from snapshots.models import Blob, ScrubPass
from snapshots.scrub import MIB, _Pace, scrub_slice
from snapshots.tasks import scrub_slice_task

pytestmark = all_databases
HUB = "ae"


def write_files(made, count: int, size: int = 64) -> list[Blob]:
    blobs = []
    for n in range(count):
        content = f"{made.tenant.pk}-{n}-".encode().ljust(size, b".")
        version = services.file_write(
            tenant=made.tenant, path=f"/s/f{n}.bin", stream=io.BytesIO(content), content_length=size,
            acting_user=made.user,
        )  # fmt: skip
        blobs.append(version.blob)
    return blobs


def passes():
    return ScrubPass.objects.using(hub_database_alias(HUB)).filter(hub_code=HUB)


def hub_blob_count() -> int:
    # On PostgreSQL rows other (transactional) tests committed may lie in the hub too: a pass checks them all.
    return Blob.objects.for_hub(HUB).count()


@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.integers(min_value=0, max_value=9), per_slice=st.integers(1, 4), batch=st.integers(1, 3))
def test_a_pass_in_slices_checks_every_blob_exactly_once(make_tenant, settings, files, per_slice, batch):
    settings.HUBPORT_SCRUB_BATCH_BLOBS = batch
    settings.HUBPORT_SCRUB_MIB_S = None
    passes().delete()
    made = make_tenant(hub=HUB)
    mine = write_files(made, files)
    Blob.objects.for_hub(HUB).update(verified_at=None)
    total = hub_blob_count()
    checked, slices = 0, 0
    while True:
        done = scrub_slice(hub_code=HUB, max_blobs=per_slice)
        assert not done.result.skipped
        assert done.result.checked <= per_slice
        checked += done.result.checked
        slices += 1
        if done.finished:
            break
        assert slices <= total + 1, "every slice but the last makes progress"
    assert checked == total, "no blob twice, none left out"
    [finished] = passes()
    assert (finished.checked, finished.slices, finished.claimed_until) == (total, slices, None)
    assert finished.finished_at is not None
    assert all(blob.verified_at is not None for blob in Blob.objects.for_hub(HUB).filter(pk__in=[b.pk for b in mine]))
    assert scrub_slice(hub_code=HUB).result.skipped.startswith("the next pass is due"), "one pass a week"


def test_a_claimed_pass_is_left_alone_and_a_dead_workers_claim_runs_out(make_tenant, settings):
    settings.HUBPORT_SCRUB_BATCH_BLOBS = 2
    passes().delete()
    made = make_tenant(hub=HUB)
    write_files(made, 5)
    total = hub_blob_count()
    first = scrub_slice(hub_code=HUB, max_blobs=3)
    assert first.result.checked == 3 and not first.finished
    current = passes().get()
    # The cursor was saved at each batch's end: after 2 blobs, and after the third.
    assert current.after_blob_pk == sorted(Blob.objects.for_hub(HUB).values_list("pk", flat=True))[2]
    # A worker killed mid-slice leaves its claim behind; nobody else takes the pass meanwhile.
    now = timezone.now()
    passes().update(claimed_until=now + timedelta(seconds=django_settings.HUBPORT_SCRUB_SLICE_SECONDS + 60))
    busy = scrub_slice(hub_code=HUB)
    assert busy.result.skipped == "another worker is on this pass" and busy.result.checked == 0
    with time_machine.travel(now + timedelta(minutes=6), tick=False):
        resumed = scrub_slice(hub_code=HUB)
    assert resumed.finished and resumed.pass_id == first.pass_id
    assert resumed.result.checked == total - 3, "resumed after the cursor, not from the start"
    assert passes().get().checked == total


def test_a_new_pass_starts_only_when_the_interval_since_the_last_start_has_passed(make_tenant, settings):
    settings.HUBPORT_SCRUB_INTERVAL_DAYS = 7
    passes().delete()
    made = make_tenant(hub=HUB)
    write_files(made, 2)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = scrub_slice(hub_code=HUB)
    assert first.finished
    for later in (timedelta(hours=1), timedelta(days=6, hours=23, minutes=59)):
        with time_machine.travel(start + later, tick=False):
            waiting = scrub_slice(hub_code=HUB)
        assert waiting.pass_id is None and waiting.result.checked == 0
        assert "next pass is due" in waiting.result.skipped
    with time_machine.travel(start + timedelta(days=7, seconds=1), tick=False):
        second = scrub_slice(hub_code=HUB)
    assert second.finished and second.pass_id != first.pass_id
    assert second.result.checked == hub_blob_count()
    assert passes().count() == 2
    assert passes().get(pk=second.pass_id).started_at == start + timedelta(days=7, seconds=1)


def test_the_pace_waits_until_the_bytes_read_fit_the_rate():
    moments = iter([100.0, 100.0, 100.5, 104.0])
    pace = _Pace(2.0, clock=lambda: next(moments))  # started at 100.0
    assert pace.wait_for(4 * MIB) == pytest.approx(2.0), "4 MiB at 2 MiB/s take 2 s; none had passed"
    assert pace.wait_for(4 * MIB) == pytest.approx(1.5)
    assert pace.wait_for(4 * MIB) == 0.0, "4 s passed: reading on at once"
    assert _Pace(None).wait_for(10**12) == 0.0, "unbounded: never waits"


def test_a_slice_reads_no_faster_than_the_setting(make_tenant, settings):
    settings.HUBPORT_SCRUB_MIB_S = 0.25  # 256 KiB/s
    passes().delete()
    made = make_tenant(hub=HUB)
    write_files(made, 4, size=32 * 1024)  # 4 blobs x 2 copies x 32 KiB = 256 KiB: at least a second
    done = scrub_slice(hub_code=HUB)
    assert done.finished and done.result.bytes >= 256 * 1024
    # A lower bound only (sleeping can only make it slower): not flaky on a busy machine.
    assert done.result.seconds >= done.result.bytes / (0.25 * MIB)
    assert done.result.seconds < done.result.bytes / (0.25 * MIB) + 30


def test_every_hub_has_its_slice_on_its_own_queue_every_five_minutes():
    for code in django_settings.HUB_CODES:
        entry = django_settings.CELERY_BEAT_SCHEDULE[f"scrub-{code}"]
        assert entry["task"] == "snapshots.tasks.scrub_slice_task" and entry["schedule"] == 300
        assert entry["kwargs"] == {"hub_code": code} and scrub_slice_task.hub_scoped  # routed to hub.<code>
    # A slice ends well inside the tasks' 15-minute soft time limit.
    assert django_settings.HUBPORT_SCRUB_SLICE_SECONDS + 60 < django_settings.CELERY_TASK_SOFT_TIME_LIMIT


@pytest.mark.worker
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_the_slice_runs_on_a_real_worker_on_the_hubs_queue(make_tenant, celery_worker):
    made = make_tenant(hub=HUB)
    write_files(made, 3)
    task = scrub_slice_task.delay(hub_code=HUB)
    finished = celery_worker.wait_for(task.id, timeout=60)
    assert finished["queue"] == f"hub.{HUB}"
    assert finished["retval"]["finished"] is True and finished["retval"]["checked"] == hub_blob_count()
    assert passes().get().finished_at is not None
