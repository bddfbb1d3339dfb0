"""Workarounds for faust-streaming 0.15 losing records, or stalling its commits, around
a rebalance.

The first two were found through the fetcher's two-replica test (a replica that kept some
partitions in a rebalance never saw some of its poll commands again; about half of
the runs failed) and the cleaner's restart test (a restarted worker consumed
nothing). Faust's design is: whatever it fetched but did not hand to a stream is
dropped, and a seek back to the committed offsets fetches it again. The holes:

1. aiokafka's ``seek_to_committed`` does not seek a partition whose committed offset
   is None (nothing committed yet, e.g. in the first seconds of a new group) or 0.
   Faust's "seek back" was then a no-op: records drained from aiokafka while the
   flow was stopped stayed skipped, and later commits could even jump past them.
   Here a partition with no committed offset goes back to the beginning, which is
   what a new consumer does with ``auto_offset_reset="earliest"`` (the StageApp
   setting), and offset 0 is a real seek target.
2. Faust empties the stream buffers on every flow resume, including the last one
   of a recovery, which comes *after* the seek to committed offsets. Records
   fetched in between were counted as read and thrown away. Revocation empties the
   buffers explicitly, so resuming does not need to: records buffered after the
   seek belong to the new assignment and are kept.

3. Its commit bookkeeping could stall a partition's commits, or commit past a record
   nobody acknowledged (found through dedup's two-worker test: a hop's committed
   offset advanced one record per commit interval, hours behind). Recovery resumes
   the flow before it seeks back, so records are handed out, and the seek then set
   the partition's "last read offset" back to the committed offset while the rest of
   that fetch was still being handed out. The next record looked like a gap of tens
   of offsets; Faust filled the gap into the acknowledged offsets, as acknowledged,
   before those records were processed, and when they were acknowledged for real
   every offset was listed twice, so its search for consecutive offsets moved one
   offset per commit. Here:
   - the fetch loop's hand-outs are tracked per partition since its assignment
     (`_Reading`); a seek keeps the read offset at the last record handed out
     (those wait in the stream buffers; their copies fetched again are dropped), so
     no gap is made up over them, and only moves it when nothing was handed out;
   - a read offset left by a record of the previous assignment (set after the
     revocation cleared it) is dropped before it drops this assignment's records;
   - offsets from the seek target (or the committed offset) up to the first record
     handed out are a gap: compacted, expired or transaction marker offsets. Faust
     saw none after a target of 0 or 1;
   - a gap ends before the record that revealed it (Faust counted that record in
     it) and starts at the committed offset (Faust started one later, and made up
     for it by committing past one record nobody acknowledged);
   - a commit starts at the committed offset, which must itself be acknowledged;
     nothing is committed for a partition before its seek has set that offset (a
     partition with nothing committed starts at its first offset); acknowledged
     offsets are counted once.

At worst a record is processed twice (at-least-once), never skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent


async def seek_to_committed_or_beginning(consumer: Any) -> dict[Any, int]:
    """Seek every assigned partition to its committed offset, or to its start if none.

    Returns where each partition now reads from: its committed offset, or its first.
    """
    starts: dict[Any, int] = {}
    for tp in consumer.assignment():
        offset = await consumer.committed(tp)
        if offset is None:
            await consumer.seek_to_beginning(tp)
            offset = await consumer.position(tp)
        else:
            consumer.seek(tp, offset)
        starts[tp] = offset
    return starts


async def _thread_seek_to_committed(self: Any) -> Mapping[Any, int]:
    return await self.call_thread(seek_to_committed_or_beginning, self._ensure_consumer())  # type: ignore[no-any-return]


faust_aiokafka.AIOKafkaConsumerThread.seek_to_committed = _thread_seek_to_committed  # type: ignore[method-assign]


def commit_point(acked: Iterable[int], committed: int | None) -> tuple[int | None, list[int]]:
    """The offset to commit (the next one to read) and the acknowledged offsets left.

    `acked` are the offsets acknowledged (gaps filled in), in any order, possibly
    repeated; `committed` is the offset committed last (the next one to read), None
    while it is unknown. A commit covers the run of consecutive offsets from the
    committed one: while that record itself is unacknowledged, or the committed
    offset unknown, nothing moves.
    """
    offsets = sorted(set(acked))
    if not offsets or committed is None or offsets[0] > committed:
        return None, offsets
    end = offsets[0]
    for n, offset in enumerate(offsets):
        if offset > end + 1:
            return end + 1, offsets[n:]
        end = offset
    return end + 1, []


def _new_offset(self: Any, tp: TP) -> int | None:
    # Under ack_lock: acknowledgements may come from other threads (faust allows it),
    # and the list is rewritten here.
    with ack_lock:
        acked = self._acked[tp]
        if not acked:
            return None
        gaps = self._gap[tp]
        if gaps:
            top = max(acked)
            filled = list(gaps.overlap(0, top + 1))
            for gap in filled:
                acked.extend(range(gap.begin, gap.end))
            gaps.chop(0, max([top + 1, *(gap.end for gap in filled)]))
        offset, left = commit_point(acked, self._committed_offset[tp])
        self._acked_index[tp].intersection_update(left)
        acked[:] = left
        return offset


async def _add_gap(self: Any, tp: TP, offset_from: int, offset_to: int) -> None:
    # Called with the offset of the record that revealed the gap as `offset_to`.
    committed = self._committed_offset[tp]
    start = offset_from if committed is None else max(offset_from, committed)
    if start < offset_to:
        self._gap[tp].addi(start, offset_to)


@dataclass
class _Reading:
    """Per partition, what the fetch loop handed out since the partition was assigned
    (first and last offset), and where a seek sent its reading before anything was."""

    handed: dict[TP, tuple[int, int]] = field(default_factory=dict)
    sought: dict[TP, int] = field(default_factory=dict)
    assigned: set[TP] = field(default_factory=set)


def _reading(consumer: Any) -> _Reading:
    reading: _Reading | None = getattr(consumer, "_newswire_reading", None)
    if reading is None:
        reading = consumer._newswire_reading = _Reading()
    return reading


def _read_before(offset: int) -> int | None:
    """The read offset with `offset` to be read next: the fetch loop takes `_read_offset`
    as the last offset read, the record before (Faust set the next one after a seek)."""
    return offset - 1 if offset else None


async def _perform_seek(self: Any) -> None:
    starts = await self.seek_to_committed()
    reading = _reading(self)
    for tp, start in ((ensure_TP(tp), start) for tp, start in starts.items()):
        if tp not in reading.assigned:
            # Revoked meanwhile, or a seek Faust makes while a revocation waits (the
            # fetch loop finds the flow stopped): the next assignment's seek sets it.
            continue
        # A commit may have landed since the broker was asked: never go back before it.
        current = self._committed_offset.get(tp)
        self._committed_offset[tp] = start if current is None else max(start, current)
        handed = reading.handed.get(tp)
        if handed is None:
            self._read_offset[tp] = _read_before(start)
            reading.sought[tp] = start
            continue
        # Records handed out since the assignment wait in the stream buffers: kept, and
        # their copies fetched again are dropped by the fetch loop. Reading began at
        # `start` then too, so offsets before the first one handed out do not exist.
        first, last = handed
        self._read_offset[tp] = last
        if first > start:
            await self._add_gap(tp, start, first)


_getmany = faust_aiokafka.Consumer.getmany


async def _getmany_tracked(self: Any, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
    """Faust's getmany, keeping _Reading up to date and the first read offset right.

    The fetch loop decides whether to hand a record out right after it is yielded, from
    `_read_offset`; so the same test here knows. (It may yield to the event loop once
    in between, every hundred records: a seek then keeps the read offset at this
    record, and a revocation clears both, so the decision is the same.)
    """
    reading = _reading(self)
    async for tp, message in _getmany(self, timeout):
        offset = message.offset
        handed = reading.handed.get(tp)
        if handed is None:
            start = reading.sought.pop(tp, None)
            if start is None:
                # Nothing handed out since the assignment, so a read offset is one the
                # fetch loop set for a record of the previous assignment, after the
                # revocation cleared it (it was waiting for buffer room): it would drop
                # this assignment's records.
                self._read_offset.pop(tp, None)
            else:
                self._read_offset[tp] = _read_before(start)  # as the seek set it
                if offset > start:  # compacted, expired or transaction marker offsets
                    await self._add_gap(tp, start, offset)
        read = self._read_offset.get(tp)
        if read is None or offset >= read:
            reading.handed[tp] = (handed[0] if handed else offset, offset)
            if read == 0 and offset > 1:  # the fetch loop sees no gap after offset 0
                await self._add_gap(tp, 1, offset)
        yield tp, message


async def _revoked(self: Any, revoked: Any) -> None:
    reading = _reading(self)
    for tp in map(ensure_TP, revoked):
        reading.handed.pop(tp, None)
        reading.sought.pop(tp, None)
        reading.assigned.discard(tp)
    await _on_partitions_revoked(self, revoked)


async def _assigned(self: Any, assigned: Any, generation_id: int = 0) -> None:
    _reading(self).assigned = set(map(ensure_TP, assigned))
    await _on_partitions_assigned(self, assigned, generation_id)


_on_partitions_revoked = faust_aiokafka.Consumer.on_partitions_revoked
_on_partitions_assigned = faust_aiokafka.Consumer.on_partitions_assigned
faust_aiokafka.Consumer._new_offset = _new_offset  # type: ignore[method-assign]
faust_aiokafka.Consumer._add_gap = _add_gap  # type: ignore[method-assign]
faust_aiokafka.Consumer.perform_seek = _perform_seek  # type: ignore[method-assign]
faust_aiokafka.Consumer.getmany = _getmany_tracked  # type: ignore[method-assign]
faust_aiokafka.Consumer.on_partitions_revoked = _revoked  # type: ignore[method-assign]
faust_aiokafka.Consumer.on_partitions_assigned = _assigned  # type: ignore[method-assign]


class KeepBuffersOnResume(FlowControlEvent):
    """Faust's flow control, except that resuming does not empty the stream buffers."""

    def resume(self) -> None:
        self._suspend.clear()
        self._resume.set()


class App(faust.App):
    """faust.App with the flow control above."""

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepBuffersOnResume(loop=self.loop)
