"""The runtime fixes of services.common.runtime, beside faust's own.

Each test drives a real consumer of the runtime's app (built, not started: no broker),
and where a record stream matters, Faust's own fetch loop (`_drain_messages`) over
records fed to the runtime's getmany; the original methods run over the same state for
comparison.
The behaviour against a broker is checked by tests/integration/test_runtime.py and
by dedup's two-worker test, whose commits stalled before the fix.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP

from services.common import runtime
from services.common.runtime import consumer as runtime_consumer
from services.common.runtime.consumer import Consumer
from services.common.runtime.flow import Queue
from services.common.runtime.offsets import commit_point, markers_only_left
from services.common.runtime.recovery import MarkerAwareRecovery
from services.common.runtime.transactions import source_transactional_id

PART = TP("t", 0)


# One event loop for the module: a Faust consumer is bound to the loop it was built in.
LOOP = asyncio.new_event_loop()


def run(coro: Any) -> Any:
    return LOOP.run_until_complete(coro)


@pytest.fixture(scope="module", autouse=True)
def _close_loop() -> Iterator[None]:
    yield
    LOOP.close()


def consumer(committed: int | None, start: int | None = None) -> Any:
    """A real consumer of the runtime's app (built, not started) holding one partition;
    `committed`: its committed offset as Faust knows it; `start`: where its next seek
    goes (the broker's committed offset, or the partition's first)."""

    async def build() -> Any:
        app = runtime.App(
            f"bookkeeping-{next(APPS)}", broker="kafka://127.0.0.1:9", store="memory://"
        )
        # Gaps count only on topics whose records are acknowledged (an agent's topics).
        app.topics.acks_enabled_for = lambda topic: True  # type: ignore[method-assign]
        return app.consumer

    async def seek_to_committed() -> dict[TP, int]:  # where reading starts
        assert start is not None
        return {PART: start}

    built = run(build())
    assert isinstance(built, Consumer)
    state: Any = built
    state.seek_to_committed = seek_to_committed
    state._newswire_reading = runtime_consumer._Reading(assigned={PART})
    state._committed_offset[PART] = committed
    return state


APPS = itertools.count()


def hand_out(state: Any, offsets: list[int], during: Any = None) -> list[int]:
    """Faust's own fetch loop (`_drain_messages`) over records at `offsets` through the
    runtime's getmany: the offsets it hands to the streams. `during(offset)` runs as a
    record leaves the runtime's getmany, before the loop looks at it (the loop yields to
    the event loop there every hundred records)."""
    out: list[int] = []

    async def loop() -> None:
        fetched_all = asyncio.Event()

        async def fetched() -> Any:
            for offset in offsets:
                yield PART, SimpleNamespace(offset=offset, topic=PART.topic, key=None, value=None)
            fetched_all.set()

        async def tracked(timeout: float) -> Any:
            async for tp, message in state._tracked(fetched()):
                if during is not None:
                    await during(message.offset)
                yield tp, message

        async def callback(message: Any) -> None:  # the streams
            out.append(message.offset)

        state.getmany, state.callback = tracked, callback
        await state._drain_messages(SimpleNamespace(_stopped=fetched_all))

    run(loop())
    return out


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
    assert commit_point([3, 4], None) == (None, [3, 4])  # before the seek set the offset
    assert commit_point([], 5) == (None, [])


def test_an_unacknowledged_record_right_after_the_commit_blocks_it() -> None:
    patched, original = consumer(5), consumer(5)
    for state in (patched, original):
        ack(state, [6, 7])
    assert Consumer._new_offset(patched, PART) is None
    # Faust commits past record 5, which nobody acknowledged: lost after a crash.
    assert FaustConsumer._new_offset(original, PART) == 8


def test_a_seek_back_during_a_fetch_does_not_stall_the_commits() -> None:
    """The stall seen in dedup's two-worker test, replayed on the bookkeeping.

    Committed 716. Records 716..757 were handed out, then the seek back set the last
    read offset to 716 and record 758 (same fetch) arrived: Faust recorded 717..758 as
    a gap. All of 716..800 are then acknowledged for real.
    """
    original = consumer(716)
    run(FaustConsumer._add_gap(original, PART, 717, 758))
    ack(original, range(716, 801))
    # Each offset of the gap is listed twice: one offset per commit.
    assert commits(original, FaustConsumer._new_offset, 3) == [718, 719, 720]

    patched = consumer(716)
    run(Consumer._add_gap(patched, PART, 717, 758))
    ack(patched, range(716, 801))
    assert commits(patched, Consumer._new_offset, 2) == [801, None]
    assert not patched._acked[PART] and not patched._acked_index[PART]


def test_a_real_gap_ends_before_the_record_that_revealed_it() -> None:
    # Records 8 and 9 were compacted away: last read 7, then 10 arrived.
    state = consumer(5)
    run(Consumer._add_gap(state, PART, 8, 10))
    assert sorted((g.begin, g.end) for g in state._gap[PART]) == [(8, 10)]
    ack(state, [5, 6, 7])
    assert Consumer._new_offset(state, PART) == 8  # the gap waits for a later record
    state._committed_offset[PART] = 8
    ack(state, [10])
    assert Consumer._new_offset(state, PART) == 11
    # A gap at the committed offset itself (record 11 gone, 12 arrived after a seek).
    state._committed_offset[PART] = 11
    run(Consumer._add_gap(state, PART, 11, 12))
    ack(state, [12])
    assert Consumer._new_offset(state, PART) == 13


def test_record_10_is_not_left_for_later_when_unacknowledged() -> None:
    # The record that revealed a gap is not in it: until it is acknowledged, the
    # commit stops before it.
    state = consumer(5)
    run(Consumer._add_gap(state, PART, 6, 10))
    ack(state, [5])
    assert Consumer._new_offset(state, PART) == 6
    state._committed_offset[PART] = 6
    ack(state, [11])
    assert Consumer._new_offset(state, PART) == 10  # 6..9 gap, 10 not acknowledged


def test_a_seek_during_a_fetch_keeps_what_was_handed_out() -> None:
    """The review's case: committed 100, records 100..139 handed out (buffered, not yet
    processed), then the seek back, then record 140 of the same fetch. No gap may be
    made up over 100..139: with only 100 acknowledged, the commit is 101."""
    state = consumer(None, start=100)
    assert hand_out(state, list(range(100, 140))) == list(range(100, 140))
    run(Consumer.perform_seek(state))
    assert state._committed_offset[PART] == 100 and state._read_offset[PART] == 139
    # The rest of the fetch, then the copies fetched again from 100: dropped up to 140,
    # the last one handed out included (faust's fetch loop passes a record at its read
    # offset: 140 was processed twice, and both outputs committed under exactly_once).
    assert hand_out(state, [140, *range(100, 142)]) == [140, 141]
    assert not state._gap[PART]
    ack(state, [100, 140, 141])
    assert Consumer._new_offset(state, PART) == 101


def test_the_last_record_handed_out_before_the_seek_is_not_handed_out_again() -> None:
    """The exactly_once duplicates: a restarted cleaner (committed 60) handed out 60..63
    while recovery's seek back ran; the fetch then began again at 60. Faust's fetch loop
    drops 60..62 but passes 63, the offset its read offset holds: 63 was processed a
    second time, its article sent twice in one transaction."""
    state = consumer(None, start=60)
    assert hand_out(state, [60, 61, 62, 63]) == [60, 61, 62, 63]
    run(Consumer.perform_seek(state))
    assert hand_out(state, [60, 61, 62, 63, 64, 65]) == [64, 65]
    ack(state, range(60, 66))
    assert Consumer._new_offset(state, PART) == 66
    # A record the fetch loop got while the seek ran (it yields to the event loop every
    # hundred records, before its test) is still handed out, once.
    state = consumer(None, start=60)

    seen: list[int] = []

    async def seek_on_the_first_61(offset: int) -> None:
        seen.append(offset)
        if offset == 61 and seen.count(61) == 1:
            await Consumer.perform_seek(state)  # while 61 is in the loop's hands

    assert hand_out(state, [60, 61, 60, 61, 62], during=seek_on_the_first_61) == [60, 61, 62]


def test_after_a_seek_missing_records_at_the_target_are_a_gap() -> None:
    # Committed 1 (the fetch loop cannot see a gap after offset 0); record 1 was
    # compacted away, and record 2 comes first.
    state = consumer(None, start=1)
    run(Consumer.perform_seek(state))
    assert state._read_offset[PART] == 0
    assert hand_out(state, [2, 3]) == [2, 3]
    ack(state, [2, 3])
    assert Consumer._new_offset(state, PART) == 4
    # The same from nothing committed: reading starts at the partition's first, 5.
    state = consumer(None, start=5)
    run(Consumer.perform_seek(state))
    assert state._read_offset[PART] == 4 and state._committed_offset[PART] == 5
    assert hand_out(state, [7]) == [7]
    ack(state, [7])
    assert Consumer._new_offset(state, PART) == 8


def test_nothing_is_committed_before_the_seek_sets_the_offset() -> None:
    # After a rebalance faust forgets the committed offset until the seek: acks that
    # came out of order (fetch-pages runs 8 at a time) must not be committed then.
    state = consumer(None, start=0)
    ack(state, [1, 2, 3])
    assert Consumer._new_offset(state, PART) is None
    run(Consumer.perform_seek(state))
    assert Consumer._new_offset(state, PART) is None  # record 0 still unacknowledged
    ack(state, [0])
    assert Consumer._new_offset(state, PART) == 4


def test_a_read_offset_left_from_the_previous_assignment_drops_nothing() -> None:
    # The fetch loop was waiting for buffer room with record 356 when the partition was
    # revoked; it set the read offset after the revocation cleared it. The partition
    # came back (committed 100): records from 100 on must be handed out, not dropped.
    state = consumer(None, start=100)
    state._read_offset[PART] = 356
    assert hand_out(state, [100, 101]) == [100, 101]
    run(Consumer.perform_seek(state))
    assert state._read_offset[PART] == 101 and not state._gap[PART]
    ack(state, [100, 101])
    assert Consumer._new_offset(state, PART) == 102


def test_records_handed_out_before_the_seek_start_past_missing_ones() -> None:
    # Reading began at the committed 100; the first record was 105 (100..104 compacted)
    # and was handed out before the seek: the seek marks 100..104 as a gap.
    state = consumer(None, start=100)
    assert hand_out(state, [105, 106]) == [105, 106]
    run(Consumer.perform_seek(state))
    ack(state, [105])
    assert Consumer._new_offset(state, PART) == 106


def test_a_record_handed_out_as_the_seek_ends_is_waited_for() -> None:
    # Record 100 was handed out while the seek ran; 101 is acknowledged first (the
    # page fetcher works on 8 at a time): nothing may be committed past 100.
    state = consumer(None, start=100)
    assert hand_out(state, [100]) == [100]
    run(Consumer.perform_seek(state))
    assert hand_out(state, [101]) == [101]
    ack(state, [101])
    assert Consumer._new_offset(state, PART) is None
    ack(state, [100])
    assert Consumer._new_offset(state, PART) == 102


def test_revocation_forgets_what_was_handed_out() -> None:
    state = consumer(None, start=100)
    assert hand_out(state, [100, 101]) == [100, 101]

    runtime_consumer._forget(state, {PART})
    # Then faust's own revocation, which clears these:
    state._read_offset.pop(PART, None)
    state._committed_offset.pop(PART, None)
    # A seek while the revocation waits (faust makes one when the flow is stopped)
    # leaves the partition alone: nothing is committed for it until it is assigned.
    run(Consumer.perform_seek(state))
    assert state._committed_offset.get(PART) is None and state._read_offset.get(PART) is None
    state._newswire_reading.assigned = {PART}
    # Back with the partition: the seek (to 100) sets the read offset before 100 again.
    run(Consumer.perform_seek(state))
    assert state._read_offset[PART] == 99
    assert hand_out(state, [100, 101, 102]) == [100, 101, 102]


def test_the_seek_never_sets_the_committed_offset_back() -> None:
    # The broker was asked before a commit of 105 landed: the seek's answer is 100.
    state = consumer(105, start=100)
    assert hand_out(state, [105]) == [105]
    run(Consumer.perform_seek(state))
    assert state._committed_offset[PART] == 105


def test_a_gap_right_after_offset_0_is_seen() -> None:
    # The fetch loop ignores gaps while its read offset is 0: record 1 compacted away.
    state = consumer(None, start=0)
    run(Consumer.perform_seek(state))
    assert hand_out(state, [0, 2, 3]) == [0, 2, 3]
    ack(state, [0, 2, 3])
    assert Consumer._new_offset(state, PART) == 4


# ---- recovery over transaction markers --------------------------------------------------


def test_markers_only_left_when_the_position_is_past_the_last_offset() -> None:
    # Records up to 4 seen, 5 is the commit marker, the consumer's next fetch is 6.
    assert markers_only_left(5, 4, 6)
    assert not markers_only_left(5, 4, 5)  # offset 5 not fetched yet
    assert not markers_only_left(5, 5, 6)  # nothing left at all
    assert not markers_only_left(5, 4, None)  # no position yet
    assert not markers_only_left(5, None, 6)


def recovery_state(last: int, seen: int, position: int, queued: int = 0) -> Any:
    """A recovery of one changelog partition, for MarkerAwareRecovery's check."""

    async def get_position(tp: TP) -> int:
        return int(state.position)

    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(queued):
        queue.put_nowait(n)
    state = SimpleNamespace(
        position=position,
        active_highwaters={PART: last},
        active_offsets={PART: seen},
        app=SimpleNamespace(consumer=SimpleNamespace(position=get_position)),
        tables=SimpleNamespace(changelog_queue=queue),
        _read_to_end={},
        log=SimpleNamespace(info=lambda *a: None),
    )
    return state


def check(state: Any) -> int:
    run(MarkerAwareRecovery._check_read_to_end(state))
    return int(state.active_offsets[PART])


def test_recovery_ends_at_trailing_markers_after_two_quiet_checks() -> None:
    state = recovery_state(last=5, seen=4, position=6)
    assert check(state) == 4  # the first sighting: records may be on their way
    assert check(state) == 5  # still so: the partition counts as read
    # Records handed over meanwhile (the last seen moved): start over.
    state = recovery_state(last=9, seen=4, position=10)
    assert check(state) == 4
    state.active_offsets[PART] = 7
    assert check(state) == 7
    assert check(state) == 9


def test_recovery_waits_for_the_changelog_queue_and_the_position() -> None:
    state = recovery_state(last=5, seen=4, position=6, queued=1)
    assert [check(state) for _ in range(3)] == [4, 4, 4]  # a record still queued
    state = recovery_state(last=5, seen=3, position=5)
    assert [check(state) for _ in range(3)] == [3, 3, 3]  # offset 5 not fetched yet


# ---- exactly_once ----------------------------------------------------------------------


def test_each_source_partition_has_its_own_stable_transactional_id() -> None:
    ids = {
        source_transactional_id("newswire-enricher", TP(topic, p))
        for topic in ("newswire.articles", "newswire.pages")
        for p in range(4)
    }
    assert len(ids) == 8
    assert source_transactional_id("a", TP("t", 1)) == "a-t-1"


def test_an_agent_acknowledging_by_hand_refuses_exactly_once() -> None:
    import pytest

    from services.common.errors import ConfigError

    crashed: list[BaseException] = []

    async def noack() -> None:
        app = runtime.App("eos-noack", broker="kafka://127.0.0.1:9", store="memory://")
        app.__dict__["in_transaction"] = True  # a worker with exactly_once

        async def crash(exc: BaseException) -> None:
            crashed.append(exc)

        app.crash = crash  # type: ignore[method-assign,assignment]
        with pytest.raises(ConfigError, match="OrderedAcks"):
            app.stream([1, 2]).noack()  # type: ignore[attr-defined]
        await asyncio.sleep(0)  # the worker's crash is scheduled, not awaited

    asyncio.run(noack())
    assert len(crashed) == 1 and isinstance(crashed[0], ConfigError)


def test_at_least_once_agents_still_acknowledge_by_hand() -> None:
    async def noack() -> bool:
        app = runtime.App("eos-noack-alo", broker="kafka://127.0.0.1:9", store="memory://")
        return bool(app.stream([1, 2]).noack().enable_acks)  # type: ignore[attr-defined]

    assert asyncio.run(noack()) is False


def test_a_drained_stream_buffer_fetches_every_partition_held_back_again() -> None:
    """Four partitions held back for a full buffer: once it drains to its low mark, all
    four are fetched again, not the one mode's `set.pop()` names each time (the enricher
    starved three partitions for 11 minutes in make soak's burst)."""
    from mode.utils.queues import FlowControlEvent

    async def scenario() -> list[int]:
        queue = Queue(maxsize=20, flow_control=FlowControlEvent(), clear_on_resume=False)
        resumed: list[int] = []
        held: set[int] = set()
        callbacks = {tp: (lambda tp=tp: resumed.append(tp)) for tp in range(4)}
        for i in range(40):  # the fetch loop puts what it has, over the high mark
            tp = i % 4
            queue.put_nowait_enhanced(
                i, on_pressure_high=lambda tp=tp: held.add(tp), on_pressure_drop=callbacks[tp]
            )
        assert held == {0, 1, 2, 3}
        while queue.qsize() > queue.pressure_drop_size:
            queue.get_nowait()
            assert not resumed, "fetched again above the low mark"
        queue.get_nowait()
        return resumed

    assert sorted(run(scenario())) == [0, 1, 2, 3]
