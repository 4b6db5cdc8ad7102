"""What every fault scenario checks afterwards.

- ``Ledger``: the writes the server acknowledged (a 2xx answer), path by path,
  and what each path must hold now; ``ledger_verify`` reads every one back
  through the API and compares SHA-256, and asks that a deleted or moved-away
  path answers 404.
- ``store_verify``: inside the store (a subprocess of the stack), every live
  file's blob present with the right size and SHA-256 in both facilities, no
  two live names in one folder, the tenant's clock never going back, and
  ``manage.py store_check --json`` passing once the store has that command.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from portal.tests.faults.stack import REPO, Stack, Tenant

STORE_CHECK = REPO / "snapshots" / "management" / "commands" / "store_check.py"


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


STORE_VERIFY = """
import hashlib
from collections import Counter
from django.conf import settings
from hubs.models import Tenant
from hubs.storage import facility_storage
from snapshots.models import Change, NodeVersion

tenant = Tenant.objects.get(pk=args["tenant"])
live = NodeVersion.objects.for_tenant(tenant).filter(valid_to__isnull=True)
problems = []
files = 0
for version in live.filter(kind="file").select_related("blob"):
    files += 1
    blob = version.blob
    if blob is None or blob.size != version.size:
        problems.append({"kind": "blob_row", "node": version.node_id})
        continue
    for role in settings.FACILITY_ROLES:
        digest = hashlib.sha256()
        try:
            with facility_storage(tenant.hub_id, role).open(blob.storage_key, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        except OSError:
            problems.append({"kind": "missing", "blob": blob.pk, "facility": role})
            continue
        if digest.hexdigest() != blob.sha256:
            problems.append({"kind": "corrupt", "blob": blob.pk, "facility": role})
names = Counter(live.values_list("parent_id", "name"))
problems += [{"kind": "duplicate_name", "parent": parent} for (parent, _), n in names.items() if n > 1]
steps = list(Change.objects.for_tenant(tenant).order_by("seq").values_list("seq", "at"))
problems += [
    {"kind": "clock", "seq": later[0]} for earlier, later in zip(steps, steps[1:]) if later[1] < earlier[1]
]
result = {"files": files, "problems": problems}
"""


def store_verify(stack: Stack, tenant: Tenant) -> dict[str, Any]:
    """The store's own state for one tenant is whole; returns the figures."""
    figures = stack.python(STORE_VERIFY, tenant=tenant.id)
    assert figures["problems"] == [], figures["problems"][:20]
    if STORE_CHECK.exists():
        checked = stack.manage("store_check", "--hub", tenant.hub, "--tenant", str(tenant.id), "--json", check=False)
        report = json.loads(checked.stdout)
        assert checked.returncode == 0 and report["ok"], report
        figures["store_check"] = report
    return figures
