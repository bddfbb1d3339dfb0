"""The commit bookkeeping of services.common.faustfixes, beside faust's own.

A consumer's bookkeeping is plain state (acknowledged offsets, gaps, the committed
offset); these tests drive the patched and the original methods over the same state.
The behaviour against a broker is checked by tests/integration/test_faustfixes.py and
by dedup's two-worker test, whose commits stalled before the fix.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP
from intervaltree import IntervalTree

from services.common import faustfixes
from services.common.faustfixes import commit_point

PART = TP("t", 0)


def consumer(committed: int | None) -> Any:
    state = SimpleNamespace(
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None),
    )
    state._committed_offset[PART] = committed
    return state


def ack(state: Any, offsets: range | list[int]) -> None:
    """What Consumer.ack records for offsets not acknowledged yet."""
    for offset in offsets:
        if offset not in state._acked_index[PART]:
            state._acked_index[PART].add(offset)
            state._acked[PART].append(offset)


def commits(state: Any, new_offset: Any, times: int) -> list[int | None]:
    out = []
    for _ in range(times):
        offset = new_offset(state, PART)
        out.append(offset)
        if offset is not None:
            state._committed_offset[PART] = offset
    return out


def test_commit_point_takes_the_consecutive_run_from_the_committed_offset() -> None:
    assert commit_point([7, 5, 6, 9], 5) == (8, [9])
    assert commit_point([5, 6, 6, 7, 7, 8], 5) == (9, [])  # repeats counted once
    assert commit_point([6, 7], 5) == (None, [6, 7])  # record 5 not acknowledged yet
    assert commit_point([3, 4, 6], None) == (5, [6])  # nothing committed: from the first
    assert commit_point([], 5) == (None, [])


def test_an_unacknowledged_record_right_after_the_commit_blocks_it() -> None:
    patched, original = consumer(5), consumer(5)
    for state in (patched, original):
        ack(state, [6, 7])
    assert faustfixes._new_offset(patched, PART) is None
    # Faust commits past record 5, which nobody acknowledged: lost after a crash.
    assert FaustConsumer._new_offset(original, PART) == 8


def test_a_seek_back_during_a_fetch_does_not_stall_the_commits() -> None:
    """The stall seen in dedup's two-worker test, replayed on the bookkeeping.

    Committed 716. Records 716..757 were handed out, then the seek back set the last
    read offset to 716 and record 758 (same fetch) arrived: Faust recorded 717..758 as
    a gap. All of 716..800 are then acknowledged for real.
    """
    original = consumer(716)
    asyncio.run(FaustConsumer._add_gap(original, PART, 717, 758))
    ack(original, range(716, 801))
    # Each offset of the gap is listed twice: one offset per commit.
    assert commits(original, FaustConsumer._new_offset, 3) == [718, 719, 720]

    patched = consumer(716)
    asyncio.run(faustfixes._add_gap(patched, PART, 717, 758))
    ack(patched, range(716, 801))
    assert commits(patched, faustfixes._new_offset, 2) == [801, None]
    assert not patched._acked[PART] and not patched._acked_index[PART]


def test_a_real_gap_ends_before_the_record_that_revealed_it() -> None:
    # Records 8 and 9 were compacted away: last read 7, then 10 arrived.
    state = consumer(5)
    asyncio.run(faustfixes._add_gap(state, PART, 8, 10))
    assert sorted((g.begin, g.end) for g in state._gap[PART]) == [(8, 10)]
    ack(state, [5, 6, 7])
    assert faustfixes._new_offset(state, PART) == 8  # the gap waits for a later record
    state._committed_offset[PART] = 8
    ack(state, [10])
    assert faustfixes._new_offset(state, PART) == 11
    # A gap at the committed offset itself (record 11 gone, 12 arrived after a seek).
    state._committed_offset[PART] = 11
    asyncio.run(faustfixes._add_gap(state, PART, 11, 12))
    ack(state, [12])
    assert faustfixes._new_offset(state, PART) == 13


def test_record_10_is_not_left_for_later_when_unacknowledged() -> None:
    # The record that revealed a gap is not in it: until it is acknowledged, the
    # commit stops before it.
    state = consumer(5)
    asyncio.run(faustfixes._add_gap(state, PART, 6, 10))
    ack(state, [5])
    assert faustfixes._new_offset(state, PART) == 6
    state._committed_offset[PART] = 6
    ack(state, [11])
    assert faustfixes._new_offset(state, PART) == 10  # 6..9 gap, 10 not acknowledged
