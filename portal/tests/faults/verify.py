"""What every fault scenario checks afterwards.

- ``Ledger``: the writes the server acknowledged (a 2xx answer), path by path,
  and what each path must hold now; ``ledger_verify`` reads every one back
  through the API and compares SHA-256, and asks that a deleted or moved-away
  path answers 404.
- ``store_verify``: ``manage.py store_check --json``, a subprocess of the
  stack as an operator would run it, passes: folder counters equal a recount,
  every blob a version references present with its size and SHA-256 in both
  facilities, no two live names in one folder, the tenant clock monotonic, no
  orphan temporary.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from portal.tests.faults.stack import Stack, Tenant


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Ledger:
    """Acknowledged writes: ``expected[path]`` is the SHA-256 the path must hold,
    or None when the path must not exist. Thread-safe."""

    expected: dict[str, str | None] = field(default_factory=dict)
    acknowledged: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrote(self, path: str, digest: str) -> None:
        with self.lock:
            self.expected[path] = digest
            self.acknowledged += 1

    def removed(self, path: str) -> None:
        with self.lock:
            self.expected[path] = None
            self.acknowledged += 1

    def moved(self, source: str, target: str) -> None:
        with self.lock:
            self.expected[target] = self.expected.get(source)
            self.expected[source] = None
            self.acknowledged += 1


def ledger_verify(tenant: Tenant, ledger: Ledger) -> int:
    """Every acknowledged path reads back with its SHA-256 (or is gone); returns
    how many files were read. Eight downloads at a time."""

    def check(item: tuple[str, str | None]) -> tuple[Any, ...] | None:
        path, digest = item
        status, body = tenant.download(path)
        if digest is None:
            return None if status == 404 else (path, "should be gone", status)
        if status != 200 or sha256(body) != digest:
            return (path, digest[:12], status, sha256(body)[:12] if status == 200 else body[:200])
        return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        wrong = [found for found in pool.map(check, sorted(ledger.expected.items())) if found is not None]
    assert wrong == [], f"{len(wrong)} acknowledged writes not readable as acknowledged: {wrong[:10]}"
    return sum(1 for digest in ledger.expected.values() if digest is not None)


def store_verify(stack: Stack, tenant: Tenant | None = None, *, hub: str | None = None) -> dict[str, Any]:
    """``manage.py store_check --json`` passes for the tenant (or every tenant of
    ``hub``), hashing every blob in both facilities; returns its report."""
    scope = ["--hub", tenant.hub, "--tenant", str(tenant.id)] if tenant is not None else ["--hub", str(hub)]
    checked = stack.manage("store_check", *scope, "--json", check=False)
    report = json.loads(checked.stdout)
    assert checked.returncode == 0 and report["ok"], report
    return report
