"""WAL positions as the failover compares them: PostgreSQL's ``X/Y`` text, and
how far a standby is behind its upstream."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hubs.db.replication import SideState, _lsn, bytes_behind

positions = st.integers(min_value=0, max_value=2**64 - 1)


def text(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def state(position: int) -> SideState:
    return SideState(in_recovery=True, position=text(position), lag_bytes=0, lag_seconds=0.0, streaming=True)


@given(positions)
def test_a_position_reads_back_as_the_number_it_is(position):
    assert _lsn(text(position)) == position


@given(positions, positions)
def test_a_standby_is_behind_by_what_its_upstream_wrote_past_it_and_never_less_than_nothing(upstream, standby):
    behind = bytes_behind(upstream=state(upstream), standby=state(standby))
    assert behind == max(0, upstream - standby)
    assert (behind == 0) == (standby >= upstream)


def test_positions_order_across_the_high_word():
    # 0/FFFFFFFF is just before 1/0: compared as text, "1/0" < "0/FFFFFFFF" would be wrong.
    assert bytes_behind(upstream=state(_lsn("1/0")), standby=state(_lsn("0/FFFFFFFF"))) == 1
