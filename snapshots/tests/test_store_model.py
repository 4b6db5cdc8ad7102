"""The store's central invariant, checked by hypothesis: after any sequence of
operations, the tree as of every clock value equals a plain reference model
that replays the same operations, and the live counters match it."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import all_databases
from snapshots import selectors, services
from snapshots.errors import StoreError

pytestmark = all_databases

NAMES = st.sampled_from(["a", "b", "c", "Ünï", "d.txt", "e.txt", "f (1).txt", "résumé.pdf"])
CONTENTS = st.sampled_from([b"", b"one", b"two", b"three" * 100, bytes(range(256))])
SIZES = {}

OPS = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 99), NAMES, CONTENTS),
    st.tuples(st.just("mkdir"), st.integers(0, 99), NAMES),
    st.tuples(st.just("rename"), st.integers(0, 99), NAMES),
    st.tuples(st.just("move"), st.integers(0, 99), st.integers(0, 99)),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("restore"), st.integers(0, 99)),
)


def _sha(content: bytes) -> str:
    import hashlib

    digest = hashlib.sha256(content).hexdigest()
    SIZES[digest] = len(content)
    return digest


def _split_name(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not stem or not dot:
        return name, ""
    return stem, "." + extension


@dataclass
class Reference:
    """Paths to sha256 (files) or None (folders); the root is implicit."""

    tree: dict[str, str | None] = field(default_factory=dict)
    trash: dict[int, tuple[str, dict[str, str | None]]] = field(default_factory=dict)

    def folders(self) -> list[str]:
        return ["/"] + sorted(p for p, v in self.tree.items() if v is None)

    def paths(self) -> list[str]:
        return sorted(self.tree)

    @staticmethod
    def child(folder: str, name: str) -> str:
        return f"/{name}" if folder == "/" else f"{folder}/{name}"

    def subtree(self, path: str) -> dict[str, str | None]:
        return {p: v for p, v in self.tree.items() if p == path or p.startswith(path + "/")}

    def remove(self, path: str) -> dict[str, str | None]:
        taken = self.subtree(path)
        for p in taken:
            del self.tree[p]
        return taken

    def free_name(self, folder: str, name: str, *, is_folder: bool) -> str:
        if self.child(folder, name) not in self.tree:
            return name
        stem, extension = (name, "") if is_folder else _split_name(name)
        n = 1
        while True:
            label = "restored" if n == 1 else f"restored {n}"
            candidate = f"{stem} ({label}){extension}"
            if self.child(folder, candidate) not in self.tree:
                return candidate
            n += 1

    def mkdir_p(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts) + 1):
            self.tree.setdefault("/" + "/".join(parts[:i]), None)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(operations=st.lists(OPS, min_size=1, max_size=30))
def test_tree_as_of_every_clock_value_matches_the_reference_model(operations, make_tenant):
    result = make_tenant(hub="uk", name="Model")
    tenant, user = result.tenant, result.user
    reference = Reference()
    history: list[tuple[int, dict[str, str | None]]] = [(selectors.clock_now(tenant=tenant), {})]

    for op in operations:
        kind = op[0]
        before_seq = selectors.clock_now(tenant=tenant)
        try:
            if kind == "write":
                folders = reference.folders()
                folder = folders[op[1] % len(folders)]
                path = reference.child(folder, op[2])
                content = op[3]
                if reference.tree.get(path, "") is None:
                    expect_error = True
                else:
                    expect_error = False
                services.file_write(
                    tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=user
                )
                assert not expect_error, f"writing over folder {path} must fail"
                reference.tree[path] = _sha(content)
            elif kind == "mkdir":
                folders = reference.folders()
                path = reference.child(folders[op[1] % len(folders)], op[2])
                exists = path in reference.tree
                services.folder_create(tenant=tenant, path=path, acting_user=user)
                assert not exists, f"mkdir over existing {path} must fail"
                reference.tree[path] = None
            elif kind == "rename":
                paths = reference.paths()
                if not paths:
                    continue
                path = paths[op[1] % len(paths)]
                parent = path.rsplit("/", 1)[0] or "/"
                target = reference.child(parent, op[2])
                taken = target in reference.tree and target != path
                services.node_rename(tenant=tenant, path=path, new_name=op[2], acting_user=user)
                assert not taken
                moved = reference.remove(path)
                for p, v in moved.items():
                    reference.tree[target + p[len(path) :]] = v
            elif kind == "move":
                paths = reference.paths()
                if not paths:
                    continue
                path = paths[op[1] % len(paths)]
                folders = reference.folders()
                destination = folders[op[2] % len(folders)]
                target = reference.child(destination, path.rsplit("/", 1)[1])
                into_itself = destination == path or destination.startswith(path + "/")
                taken = target in reference.tree and target != path
                services.node_move(tenant=tenant, from_path=path, to_path=target, acting_user=user)
                assert not into_itself and not taken, (path, target)
                moved = reference.remove(path)
                for p, v in moved.items():
                    reference.tree[target + p[len(path) :]] = v
            elif kind == "delete":
                paths = reference.paths()
                if not paths:
                    continue
                path = paths[op[1] % len(paths)]
                closed = services.node_delete(tenant=tenant, path=path, acting_user=user)
                reference.trash[closed.pk] = (path, reference.remove(path))
            elif kind == "restore":
                if not reference.trash:
                    continue
                version_id = sorted(reference.trash)[op[1] % len(reference.trash)]
                original, subtree = reference.trash.pop(version_id)
                services.trash_restore(tenant=tenant, version_id=version_id, acting_user=user)
                parent, name = original.rsplit("/", 1)
                parent = parent or "/"
                reference.mkdir_p(parent)
                is_folder = subtree[original] is None
                target = reference.child(parent, reference.free_name(parent, name, is_folder=is_folder))
                for p, v in subtree.items():
                    reference.tree[target + p[len(original) :]] = v
        except StoreError:
            assert selectors.clock_now(tenant=tenant) == before_seq, "a refused operation must not move the clock"
            continue
        history.append((selectors.clock_now(tenant=tenant), dict(reference.tree)))

    for seq, expected in history:
        assert selectors.tree_as_of(tenant=tenant, seq=seq) == expected, f"tree differs at seq {seq}"
    assert selectors.tree_as_of(tenant=tenant) == reference.tree
    usage = selectors.live_usage(tenant=tenant)
    live_files = [p for p, v in reference.tree.items() if v is not None]
    assert usage.live_files == len(live_files)
    assert usage.live_bytes == sum(SIZES[reference.tree[p]] for p in live_files)
