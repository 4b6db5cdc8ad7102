"""After the failover: the hub's file transaction probe until it passes (the
recovery time ends there), then every path of the ledger read back through the
store's read path and judged against what was acknowledged."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections

from hubs.models import Tenant
from hubs.services.probes import probe_round_run
from portal.drill.ledger import Absent, Ledger, State, Verdict
from snapshots import selectors
from snapshots.blobs import blob_open
from snapshots.errors import NotFound
from snapshots.models import NodeVersion
from snapshots.monitoring import FILE_TRANSACTION_TIMEOUT_SECONDS
from snapshots.services.file_transaction import ANOTHER_PROBER

FILE_TRANSACTION_PROBE = "file_transaction"


@dataclass
class ProbePass:
    passed_at: float | None
    rounds: int
    last_detail: str


def file_transaction_until_passing(
    *, hub_code: str, deadline: float, progress: Callable[[str], object] = lambda line: None
) -> ProbePass:
    """Run the hub's probe rounds (recorded like scheduled ones) until its file
    transaction probe passes, or until a whole round (bounded by the probe's
    timeout) no longer fits before the deadline: the stage then ends on time
    and says what the last round found, rather than being killed in a round.
    Each round's finding goes to ``progress``."""
    rounds, detail = 0, "no round ran"
    while time.monotonic() + FILE_TRANSACTION_TIMEOUT_SECONDS < deadline or rounds == 0:
        rounds += 1
        rows = probe_round_run(hub_code=hub_code)
        found = [row for row in rows if row.name == FILE_TRANSACTION_PROBE]
        detail = found[0].detail if found else "the hub has no file transaction probe"
        # A round that met another prober's transaction (one of this stage's
        # own rounds, still running past its timeout) proves nothing.
        passed = bool(found) and found[0].ok and not detail.startswith(ANOTHER_PROBER)
        progress(f"round {rounds}: file transaction {'passed' if passed else 'not passed'}: {detail}")
        if passed:
            return ProbePass(passed_at=time.time(), rounds=rounds, last_detail=detail)
        # A failed connection stays cached in this thread's handler; a new one
        # is opened for the next round.
        connections.close_all()
    return ProbePass(passed_at=None, rounds=rounds, last_detail=detail)


def read_state(*, tenant: Tenant, path: str) -> State:
    """The SHA-256 of the live file at ``path``, read from the hub's serving
    facility (else the other), or Absent."""
    try:
        version = selectors.node_at_path(tenant=tenant, path=path)
    except NotFound:
        return Absent
    return read_version(tenant=tenant, version=version)


def read_version(*, tenant: Tenant, version: NodeVersion) -> str:
    """The SHA-256 of a version's bytes as the store reads them."""
    if version.blob is None:
        return "folder"
    digest = hashlib.sha256()
    try:
        with blob_open(tenant=tenant, blob=version.blob) as handle:
            for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(chunk)
    except NotFound:
        return "bytes missing"
    return digest.hexdigest()


def ledger_verify(*, tenant: Tenant, ledger: Ledger) -> Verdict:
    """Every acknowledged version read from the file's history (as the
    customer's history pages read it), every path's live state read from the
    tree; then judged by the ledger."""
    versions: dict[int, State] = {}
    for node_id in sorted({write.node_id for write in ledger.writes}):
        for version in selectors.file_versions(tenant=tenant, node_id=node_id):
            versions[version.pk] = read_version(tenant=tenant, version=version)
    live = {path: read_state(tenant=tenant, path=path) for path in ledger.paths()}
    return ledger.judge(live=live, versions=versions)
