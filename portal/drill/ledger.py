"""The drill's bookkeeping of acknowledged writes.

A write is *acknowledged* when the store's service returned: the client was
told the file is stored (or deleted), so after any disaster it must read back
exactly so. A call that raised is *in doubt*: its transaction may have
committed on the standby before the primary died, or not, so either the state
before it or the state it meant to make is right afterwards, nothing else.

One path is written by one thread only, in order, so the last acknowledged
state of a path is well defined; a thread stops at its first failure, so a path
has at most one call in doubt, after its last acknowledged one. A state is the
SHA-256 of the bytes, or ``None`` for no file (deleted or never written).

Two checks follow: every acknowledged write, the overwritten ones included, is
a version of its file (the store keeps them for the retention period) whose
bytes read back with the hash acknowledged; and every path's live state is
its last acknowledged one (or the one in doubt).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

Absent = None
State = str | None


@dataclass
class PathRecord:
    acknowledged: State = Absent
    in_doubt: State | None = None
    has_doubt: bool = False

    def expected(self) -> set[State]:
        """The states a reader may find after a disaster."""
        return {self.acknowledged, self.in_doubt} if self.has_doubt else {self.acknowledged}


@dataclass(frozen=True)
class AcknowledgedWrite:
    path: str
    sha256: str
    node_id: int
    version_id: int


@dataclass
class Verdict:
    """``verified`` counts acknowledged writes read back right; ``lost`` names
    those that were not; ``wrong_paths`` names paths whose live state is none
    the ledger allows (a deleted file back, a file gone, older bytes)."""

    verified: int = 0
    lost: list[dict[str, Any]] = field(default_factory=list)
    paths_verified: int = 0
    wrong_paths: list[dict[str, Any]] = field(default_factory=list)


class Ledger:
    """Thread-safe: the drill's writer threads share one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: dict[str, PathRecord] = {}
        self.writes: list[AcknowledgedWrite] = []
        self.acknowledged_writes = 0
        self.acknowledged_deletes = 0
        self.in_doubt_calls = 0

    def acknowledge(self, path: str, state: State, *, node_id: int = 0, version_id: int = 0) -> None:
        """A call on ``path`` returned: the file now has ``state`` (a hash, or
        None once deleted), a write as version ``version_id`` of node
        ``node_id``. A later acknowledgement ends an earlier doubt."""
        with self._lock:
            if state is not Absent:
                self.writes.append(AcknowledgedWrite(path, state, node_id, version_id))
            record = self._paths.setdefault(path, PathRecord())
            record.acknowledged = state
            record.in_doubt, record.has_doubt = None, False
            if state is Absent:
                self.acknowledged_deletes += 1
            else:
                self.acknowledged_writes += 1

    def doubt(self, path: str, intended: State) -> None:
        """A call on ``path`` meant to make ``intended`` raised: it may or may not have happened."""
        with self._lock:
            record = self._paths.setdefault(path, PathRecord())
            record.in_doubt, record.has_doubt = intended, True
            self.in_doubt_calls += 1

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._paths)

    def expected(self, path: str) -> set[State]:
        with self._lock:
            return self._paths.get(path, PathRecord()).expected()

    def judge(self, *, live: dict[str, State], versions: dict[int, State]) -> Verdict:
        """Compare what a reader found with what was acknowledged: ``live``, the
        state of each path now (a path left out was not found); ``versions``,
        the hash of the bytes read for each version id (left out: no such
        version, or its bytes unreadable)."""
        verdict = Verdict()
        for write in self.writes:
            found = versions.get(write.version_id)
            if found == write.sha256:
                verdict.verified += 1
            else:
                verdict.lost.append(
                    {"path": write.path, "version": write.version_id, "acknowledged": write.sha256, "found": found}
                )
        for path in self.paths():
            record = self._paths[path]
            found = live.get(path, Absent)
            if found in record.expected():
                verdict.paths_verified += 1
            else:
                verdict.wrong_paths.append(
                    {
                        "path": path,
                        "acknowledged": record.acknowledged,
                        "in_doubt": record.in_doubt if record.has_doubt else "-",
                        "found": found,
                    }
                )
        return verdict

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "acknowledged_writes": self.acknowledged_writes,
                "acknowledged_deletes": self.acknowledged_deletes,
                "in_doubt_calls": self.in_doubt_calls,
                "writes": [[w.path, w.sha256, w.node_id, w.version_id] for w in self.writes],
                "paths": {
                    path: {"acknowledged": r.acknowledged, "in_doubt": r.in_doubt, "has_doubt": r.has_doubt}
                    for path, r in self._paths.items()
                },
            }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ledger:
        ledger = cls()
        ledger.acknowledged_writes = int(data["acknowledged_writes"])
        ledger.acknowledged_deletes = int(data["acknowledged_deletes"])
        ledger.in_doubt_calls = int(data["in_doubt_calls"])
        ledger.writes = [AcknowledgedWrite(p, sha, int(node), int(version)) for p, sha, node, version in data["writes"]]
        for path, record in data["paths"].items():
            ledger._paths[path] = PathRecord(record["acknowledged"], record["in_doubt"], bool(record["has_doubt"]))
        return ledger
