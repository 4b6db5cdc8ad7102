"""The drill's bookkeeping: what a reader may find after a disaster is the last
acknowledged state of each path, or the state of the one call in doubt after
it; every acknowledged write must be found as its own version with its hash."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from portal.drill.ledger import Absent, Ledger

HASHES = st.sampled_from(["a" * 64, "b" * 64, "c" * 64, "d" * 64])
STATES = st.one_of(st.none(), HASHES)
PATHS = st.sampled_from(["/p0", "/p1", "/p2"])
# (path, state, acknowledged?): a thread's calls in order; after a call in
# doubt the drill's thread stops, so a doubt is the path's last call.
CALLS = st.lists(st.tuples(PATHS, STATES, st.booleans()), max_size=30)


def _replay(calls: list[tuple[str, str | None, bool]]) -> tuple[Ledger, dict[str, set[str | None]]]:
    """The ledger after ``calls``, and the states a correct store may show per path (the model)."""
    ledger, allowed = Ledger(), {}
    version = 0
    for path, state, acknowledged in _applied(calls):
        if acknowledged:
            version += 1
            ledger.acknowledge(path, state, node_id=1, version_id=version)
            allowed[path] = {state}
        else:
            ledger.doubt(path, state)
            allowed[path] = allowed.get(path, {Absent}) | {state}
    return ledger, allowed


@given(calls=CALLS, data=st.data())
def test_a_store_showing_any_allowed_state_passes_and_any_other_state_is_named(calls, data):
    ledger, allowed = _replay(calls)
    live = {path: data.draw(st.sampled_from(sorted(states, key=str))) for path, states in allowed.items()}
    assert ledger.judge(live=live, versions={}).wrong_paths == []

    outside = {path: states for path, states in allowed.items() if len(states) < 5}
    if outside:
        path = data.draw(st.sampled_from(sorted(outside)))
        wrong = data.draw(STATES.filter(lambda state: state not in allowed[path]))
        verdict = ledger.judge(live={**live, path: wrong}, versions={})
        assert [row["path"] for row in verdict.wrong_paths] == [path]
        assert verdict.paths_verified == len(allowed) - 1


@given(calls=CALLS)
def test_every_acknowledged_write_is_counted_once_and_missing_versions_are_lost(calls):
    ledger, _allowed = _replay(calls)
    writes = list(ledger.writes)
    applied = [(path, state) for path, state, acknowledged in _applied(calls) if acknowledged]
    assert ledger.acknowledged_writes == len(writes) == sum(state is not Absent for _path, state in applied)
    assert ledger.acknowledged_deletes == sum(state is Absent for _path, state in applied)

    every_version = {write.version_id: write.sha256 for write in writes}
    assert ledger.judge(live={}, versions=every_version).verified == len(writes)
    if writes:
        gone = writes[0].version_id
        verdict = ledger.judge(live={}, versions={k: v for k, v in every_version.items() if k != gone})
        assert [row["version"] for row in verdict.lost] == [gone]
        corrupt = ledger.judge(live={}, versions={**every_version, gone: "e" * 64})
        assert [row["found"] for row in corrupt.lost] == ["e" * 64]


def _applied(calls: list[tuple[str, str | None, bool]]) -> list[tuple[str, str | None, bool]]:
    """The calls a drill's thread makes: none on a path after its call in doubt."""
    stopped: set[str] = set()
    made = []
    for path, state, acknowledged in calls:
        if path not in stopped:
            made.append((path, state, acknowledged))
            if not acknowledged:
                stopped.add(path)
    return made


def test_a_call_in_doubt_allows_the_state_before_it_or_after_it_and_nothing_else():
    ledger = Ledger()
    ledger.acknowledge("/f", "a" * 64, node_id=1, version_id=1)
    ledger.doubt("/f", Absent)  # a delete whose answer never came
    assert ledger.expected("/f") == {"a" * 64, Absent}
    assert ledger.judge(live={}, versions={1: "a" * 64}).wrong_paths == []
    assert ledger.judge(live={"/f": "a" * 64}, versions={1: "a" * 64}).wrong_paths == []
    assert len(ledger.judge(live={"/f": "b" * 64}, versions={1: "a" * 64}).wrong_paths) == 1


def test_an_acknowledged_delete_must_stay_deleted():
    ledger = Ledger()
    ledger.acknowledge("/f", "a" * 64, node_id=1, version_id=1)
    ledger.acknowledge("/f", Absent)
    verdict = ledger.judge(live={"/f": "a" * 64}, versions={1: "a" * 64})
    assert verdict.verified == 1  # the overwritten bytes are still in the history
    assert verdict.wrong_paths == [{"path": "/f", "acknowledged": None, "in_doubt": "-", "found": "a" * 64}]


def test_the_ledger_survives_its_json_round_trip_between_the_drills_processes():
    ledger = Ledger()
    ledger.acknowledge("/f", "a" * 64, node_id=3, version_id=7)
    ledger.acknowledge("/g", "b" * 64, node_id=4, version_id=8)
    ledger.acknowledge("/g", Absent)
    ledger.doubt("/f", "c" * 64)
    copy = Ledger.from_json(ledger.to_json())
    assert copy.to_json() == ledger.to_json()
    assert copy.expected("/f") == {"a" * 64, "c" * 64}
    assert copy.expected("/g") == {Absent}


def test_writers_on_many_threads_lose_no_acknowledgement():
    ledger = Ledger()

    def write(thread: int) -> None:
        for n in range(500):
            ledger.acknowledge(
                f"/t{thread}/f{n % 7}", f"{thread:02d}{n:062d}", node_id=thread, version_id=thread * 1000 + n
            )

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.acknowledged_writes == len(ledger.writes) == 8 * 500
    assert len(ledger.paths()) == 8 * 7
