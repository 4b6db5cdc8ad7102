"""Scenario 5: many clients at once through the REST API of the real server.

``HUBPORT_FAULTS_CLIENTS`` clients (50 by default, as CI runs it) for
``HUBPORT_FAULTS_SECONDS`` (60) upload, overwrite, rename, delete and restore
from the trash, each in a folder of its own inside one of five tenants of one
hub, so every tenant's clock, counters and database see concurrent writers
while each path has a single writer whose acknowledged results are known in
order. Afterwards every acknowledged write reads back with its SHA-256 (a
deleted or renamed-away path answers 404), the store is whole, and neither a
client nor the server's log saw a 5xx.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from portal.tests.faults.stack import Stack, Tenant
from portal.tests.faults.verify import Ledger, ledger_verify, sha256, store_verify

CLIENTS = int(os.environ.get("HUBPORT_FAULTS_CLIENTS", "50"))
SECONDS = float(os.environ.get("HUBPORT_FAULTS_SECONDS", "60"))
TENANTS = 5

pytestmark = [pytest.mark.faults, pytest.mark.timeout(int(SECONDS) + 240)]


@dataclass
class Client:
    """One client's files: live ones by path (SHA-256), deleted ones it may restore."""

    number: int
    tenant: Tenant
    ledger: Ledger
    live: dict[str, str] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)
    names: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def new_path(self) -> str:
        self.names += 1
        return f"/client-{self.number}/file-{self.names}.bin"

    def step(self, rng: random.Random) -> None:
        kinds = ["upload"] * 3
        if self.live:
            kinds += ["overwrite"] * 2 + ["rename", "delete"]
        if self.deleted:
            kinds.append("restore")
        kind = rng.choice(kinds)
        if kind in ("upload", "overwrite"):
            path = self.new_path() if kind == "upload" else rng.choice(sorted(self.live))
            content = rng.randbytes(rng.randint(0, 96 * 1024))
            status, body = self.tenant.upload(path, content)
            if status in (200, 201):
                assert body["sha256"] == sha256(content), body
                self.live[path] = sha256(content)
                self.ledger.wrote(path, sha256(content))
        elif kind == "rename":
            source, target = rng.choice(sorted(self.live)), self.new_path()
            status, _ = self.tenant.move(source, target)
            if status == 200:
                self.live[target] = self.live.pop(source)
                self.ledger.moved(source, target)
        elif kind == "delete":
            path = rng.choice(sorted(self.live))
            status = self.tenant.delete(path)
            if status in (200, 204):
                self.deleted[path] = self.live.pop(path)
                self.ledger.removed(path)
        else:
            path = rng.choice(sorted(self.deleted))
            status, _ = self.tenant.trash_restore(path)
            if status == 200:
                self.live[path] = self.deleted.pop(path)
                self.ledger.wrote(path, self.live[path])
        self.outcomes[f"{kind} {status}"] += 1


def test_many_clients_at_once_lose_no_acknowledged_write(web: Stack):
    stack = web
    tenants = stack.tenants([f"crowd-{n}" for n in range(TENANTS)], hub="uk")
    ledgers = [Ledger() for _ in tenants]
    clients = [Client(number=n, tenant=tenants[n % TENANTS], ledger=ledgers[n % TENANTS]) for n in range(CLIENTS)]
    deadline = time.monotonic() + SECONDS
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(client: Client) -> None:
        rng = random.Random(client.number)
        try:
            while time.monotonic() < deadline:
                client.step(rng)
        except BaseException as exc:  # noqa: BLE001  # reported below, with the others
            with lock:
                failures.append(exc)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(run, clients))
    elapsed = time.monotonic() - started

    outcomes = sum((client.outcomes for client in clients), Counter())
    assert failures == [], failures[:3]
    server_side = {outcome: n for outcome, n in outcomes.items() if outcome.split()[1].startswith("5")}
    assert server_side == {}, outcomes
    acknowledged = sum(ledger.acknowledged for ledger in ledgers)
    refused = {outcome: n for outcome, n in outcomes.items() if not outcome.split()[1].startswith("2")}
    # Every operation is on a path its client owns: nothing should be refused.
    assert refused == {}, outcomes
    read = sum(ledger_verify(tenant, ledger) for tenant, ledger in zip(tenants, ledgers, strict=True))
    report = store_verify(stack, hub="uk")
    assert report["tenants"] >= TENANTS
    assert read == report["files"]  # every live file is one the clients know of, and the other way round
    assert stack.server_errors() == []
    print(
        f"{CLIENTS} clients, {elapsed:.0f} s: {acknowledged} acknowledged writes "
        f"({acknowledged / elapsed:.0f}/s), {read} files read back; {dict(sorted(outcomes.items()))}"
    )
