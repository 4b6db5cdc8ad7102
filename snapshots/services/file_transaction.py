"""The emulated file transaction (probe ``file_transaction``): in the hub's
probe tenant, upload random bytes, take a snapshot, delete the file, restore it
through the real restore task on the hub's queue, read it back through the
store's read path, compare SHA-256, purge it.

One call finishes the transaction the previous call began, then begins the
next. The restore runs on a worker of ``hub.<code>`` while no round waits for
it: a round that waited would hold a worker slot the restore may need (the
embedded worker has two slots for eight queues). Only a call that finds no
transaction begun (the first ever, ``manage.py probes_run`` after a failure)
begins one and waits for its job, polling the row every 0.2 s up to
``HUBPORT_PROBE_FILE_TRANSACTION_SECONDS``. A job not finished that long after
it was queued has failed ("no worker ran it"), whichever call finds it.

Failures name their step and ids ("step restore: job 12 state failed"), never
the file's name. This module queues the restore (through restore_jobs), so no
task imports it.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from hubs.models import Tenant
from hubs.monitoring.probes import Check
from snapshots import selectors
from snapshots.blobs import blob_open
from snapshots.errors import NotFound
from snapshots.models import RestoreJob, Snapshot
from snapshots.selectors.trash import trash_item_at_path
from snapshots.services.files import file_write, node_delete
from snapshots.services.probe_tenant import probe_tenant_ensure, probe_tenant_tidy
from snapshots.services.purge import node_purge
from snapshots.services.restore_jobs import restore_cancel, restore_start
from snapshots.services.restore_request import RestoreRequest
from snapshots.services.snapshots import snapshot_create

PROBE_FILE_BYTES = 4096
POLL_SECONDS = 0.2
SNAPSHOT_LABEL_PREFIX = "probe sha256 "
PURGE_REASON = "monitoring: end of an emulated file transaction"
# Two probers of one hub at once (a scheduled round and probes_run) would
# finish the same transaction twice; the second waits its turn out.
LOCK_SECONDS = 120
# What a prober finds while another holds the transaction: not a failure of the
# hub, so it passes; the disaster-recovery drill does not count it as the pass.
ANOTHER_PROBER = "another prober is running this hub's transaction now"


class StepFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"step {step}: {detail}")


@dataclass(frozen=True)
class Begun:
    job: RestoreJob
    path: str


def _step(name: str, action):  # type: ignore[no-untyped-def]
    try:
        return action()
    except StepFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a step is the step failing, named by class only
        raise StepFailed(name, type(exc).__name__) from exc


def transaction_begin(*, tenant: Tenant) -> Begun:
    """Upload, snapshot, delete, queue the restore; returns the queued job."""
    payload = secrets.token_bytes(PROBE_FILE_BYTES)
    sha256 = hashlib.sha256(payload).hexdigest()
    path = f"/probe-{secrets.token_hex(8)}.bin"
    _step(
        "upload",
        lambda: file_write(
            tenant=tenant, path=path, stream=io.BytesIO(payload), content_length=len(payload), acting_user=None
        ),
    )
    # The label carries the hash of the bytes sent, so whichever call finishes
    # the transaction compares the bytes read back with what was written.
    snapshot = _step(
        "snapshot",
        lambda: snapshot_create(tenant=tenant, kind=Snapshot.Kind.MANUAL, label=f"{SNAPSHOT_LABEL_PREFIX}{sha256}"),
    )
    _step("delete", lambda: node_delete(tenant=tenant, path=path, acting_user=None))
    job = _step(
        "restore",
        lambda: restore_start(
            tenant=tenant,
            request=RestoreRequest(snapshot_id=snapshot.pk, paths=(path,)),
            acting_user=None,
            at_once=False,  # through the hub's queue: the probe is of the worker too
        ),
    )
    return Begun(job=job, path=path)


def _file_still_there(tenant: Tenant, path: str) -> bool:
    """In Recently deleted (its restore not yet run) or back in the tree.

    Recently deleted is read first: the restore may commit between the two
    reads, and it moves the file from there into the tree, never back. Read the
    other way round, a commit between them saw the file in neither place and
    abandoned a transaction whose restore had just succeeded."""
    try:
        trash_item_at_path(tenant=tenant, path=path)
    except NotFound:
        try:
            selectors.node_at_path(tenant=tenant, path=path)
        except NotFound:
            return False
    return True


def transaction_pending(*, tenant: Tenant) -> Begun | None:
    """The transaction begun and not yet finished: the newest job whose file is still there."""
    job = RestoreJob.objects.for_tenant(tenant).order_by("-created_at", "-pk").first()
    if job is None or not job.paths:
        return None
    path = job.paths[0]
    return Begun(job=job, path=path) if _file_still_there(tenant, path) else None


def _wait_for_job(tenant: Tenant, job: RestoreJob, limit: timedelta) -> RestoreJob:
    deadline = job.created_at + limit
    while True:
        current = RestoreJob.objects.for_tenant(tenant).get(pk=job.pk)
        if current.is_finished or timezone.now() >= deadline:
            return current
        time.sleep(POLL_SECONDS)


def transaction_finish(*, tenant: Tenant, begun: Begun) -> str:
    """Wait (bounded) for the job, read the file back, compare, purge. Returns
    the detail of a transaction that passed; raises StepFailed otherwise."""
    limit = timedelta(seconds=settings.HUBPORT_PROBE_FILE_TRANSACTION_SECONDS)
    try:
        job = _wait_for_job(tenant, begun.job, limit)
        waited = ((job.finished_at or timezone.now()) - job.created_at).total_seconds()
        if not job.is_finished:
            raise StepFailed(
                "restore",
                f"job {job.pk} still {job.state} after {waited:.0f} s "
                f"(no worker of hub.{tenant.hub_id} ran it in {limit.total_seconds():g} s)",
            )
        if job.state != RestoreJob.State.SUCCEEDED:
            raise StepFailed("restore", f"job {job.pk} state {job.state}")
        if job.finished_at is not None and waited > limit.total_seconds():
            raise StepFailed(
                "restore", f"job {job.pk} finished after {waited:.0f} s (allowed {limit.total_seconds():g} s)"
            )
        snapshot = job.snapshot
        if snapshot is None or not snapshot.label.startswith(SNAPSHOT_LABEL_PREFIX):
            raise StepFailed("compare", f"job {job.pk} lost its snapshot")
        expected = snapshot.label.removeprefix(SNAPSHOT_LABEL_PREFIX)
        digest = _step("download", lambda: _read_sha256(tenant, begun.path))
        if digest != expected:
            raise StepFailed("compare", f"job {job.pk}: sha256 of the bytes read differs from the bytes written")
        return f"job {job.pk} restored in {waited:.1f} s, {PROBE_FILE_BYTES} bytes read back, sha256 matched"
    finally:
        _clean_up(tenant, begun)


def _read_sha256(tenant: Tenant, path: str) -> str:
    version = selectors.node_at_path(tenant=tenant, path=path)
    if version.blob is None:
        raise NotFound("not a file")
    digest = hashlib.sha256()
    with blob_open(tenant=tenant, blob=version.blob) as handle:
        for chunk in iter(lambda: handle.read(64 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _clean_up(tenant: Tenant, begun: Begun) -> None:
    job = RestoreJob.objects.for_tenant(tenant).filter(pk=begun.job.pk).first()
    if job is not None and not job.is_finished:
        restore_cancel(tenant=tenant, job_id=job.pk, acting_user=None)
    if _file_still_there(tenant, begun.path):
        _step("cleanup", lambda: node_purge(tenant=tenant, path=begun.path, acting_user=None, reason=PURGE_REASON))


def file_transaction_check(hub_code: str) -> Check:
    """Finish the transaction begun before (or begin one and wait for it), then begin the next."""
    lock = f"hubport:file_transaction:{hub_code}"
    if not cache.add(lock, 1, timeout=LOCK_SECONDS):
        return Check(ok=True, detail=ANOTHER_PROBER)
    try:
        tenant = _step("tenant", lambda: probe_tenant_ensure(hub_code=hub_code))
        try:
            pending = transaction_pending(tenant=tenant) or transaction_begin(tenant=tenant)
            found = transaction_finish(tenant=tenant, begun=pending)
        except StepFailed as failed:
            found_check = Check(ok=False, detail=str(failed))
        else:
            found_check = Check(ok=True, detail=found)
        try:
            following = transaction_begin(tenant=tenant)
        except StepFailed as failed:
            if found_check.ok:
                return Check(ok=False, detail=f"{failed} (while beginning the next transaction)")
            return found_check
        probe_tenant_tidy(tenant=tenant, keep_job_id=following.job.pk)
        return Check(
            ok=found_check.ok, detail=f"{found_check.detail}; job {following.job.pk} queued for the next round"
        )
    finally:
        cache.delete(lock)
