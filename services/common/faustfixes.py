"""Workarounds for faust-streaming 0.15 losing records, or stalling its commits, around
a rebalance.

Both were found through the fetcher's two-replica test (a replica that kept some
partitions in a rebalance never saw some of its poll commands again; about half of
the runs failed) and the cleaner's restart test (a restarted worker consumed
nothing). Faust's design is: whatever it fetched but did not hand to a stream is
dropped, and a seek back to the committed offsets fetches it again. The two holes:

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

3. Its commit bookkeeping turned a seek back into a commit stall (found through
   dedup's two-worker test: a hop's committed offset advanced one record per commit
   interval, hours behind). Recovery resumes the flow before it seeks back, so
   records fetched in between are handed out, and the seek then sets a partition's
   "last read offset" back to the committed offset while the rest of that fetch is
   still being handed out. The next record looked like a gap of tens of offsets;
   Faust filled the gap into the acknowledged offsets, the records (handed out
   before the seek) were acknowledged for real as well, and with every offset listed
   twice its search for consecutive offsets moved one offset per commit. Here:
   acknowledged offsets are counted once; a gap ends before the record that revealed
   it (Faust counted that record in the gap too) and starts at the committed offset
   (Faust started one later and made up for it by committing past one record nobody
   acknowledged); and the last read offset after a seek is the one before the
   committed offset, as the fetch loop reads it. A gap filled in after such a seek
   covers records that were handed out before it, so it loses nothing.

At worst a record is processed twice (at-least-once), never skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import faust
from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent


async def seek_to_committed_or_beginning(consumer: Any) -> dict[Any, int | None]:
    """Seek every assigned partition to its committed offset, or to its start if none."""
    committed: dict[Any, int | None] = {}
    for tp in consumer.assignment():
        offset = await consumer.committed(tp)
        committed[tp] = offset
        if offset is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)
    return committed


async def _thread_seek_to_committed(self: Any) -> Mapping[Any, int | None]:
    return await self.call_thread(seek_to_committed_or_beginning, self._ensure_consumer())  # type: ignore[no-any-return]


faust_aiokafka.AIOKafkaConsumerThread.seek_to_committed = _thread_seek_to_committed  # type: ignore[assignment]


def commit_point(acked: Iterable[int], committed: int | None) -> tuple[int | None, list[int]]:
    """The offset to commit (the next one to read) and the acknowledged offsets left.

    `acked` are the offsets acknowledged (gaps filled in), in any order, possibly
    repeated; `committed` is the offset committed last (the next one to read), or None
    if nothing is known. A commit covers a run of consecutive offsets from the
    committed one: while that record itself is unacknowledged, nothing moves.
    """
    offsets = sorted(set(acked))
    if not offsets or (committed is not None and offsets[0] > committed):
        return None, offsets
    end = offsets[0]
    for n, offset in enumerate(offsets):
        if offset > end + 1:
            return end + 1, offsets[n:]
        end = offset
    return end + 1, []


def _new_offset(self: Any, tp: TP) -> int | None:
    acked = self._acked[tp]
    if not acked:
        return None
    gaps = self._gap[tp]
    if gaps:
        top = max(acked)
        filled = [gap for gap in gaps.overlap(0, top + 1)]
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


async def _perform_seek(self: Any) -> None:
    committed = await self.seek_to_committed()
    for tp, offset in ((ensure_TP(tp), offset) for tp, offset in committed.items()):
        # The fetch loop reads `_read_offset` as the last offset read: the record before
        # the next one. (Faust set the next one, so a first record after a compacted
        # committed one looked contiguous and the commit waited for it for ever.)
        self._read_offset[tp] = offset - 1 if offset else None
        if offset:
            self._committed_offset[tp] = offset


faust_aiokafka.Consumer._new_offset = _new_offset  # type: ignore[method-assign]
faust_aiokafka.Consumer._add_gap = _add_gap  # type: ignore[method-assign]
faust_aiokafka.Consumer.perform_seek = _perform_seek  # type: ignore[method-assign]


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
