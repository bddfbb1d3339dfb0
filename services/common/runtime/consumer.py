"""Faust's aiokafka consumer with its commit bookkeeping and seek back made safe.

Installed through the app's transport (app.py), not by patching Faust's class. What each
override fixes, and the tests that found it, is told in the package docstring; in short:

1. aiokafka's ``seek_to_committed`` does not seek a partition whose committed offset is
   None (nothing committed yet) or 0, so Faust's "seek back" after a rebalance was a
   no-op there and records drained while the flow was stopped stayed skipped. Here such
   a partition goes back to its beginning (``auto_offset_reset="earliest"``), and 0 is a
   real seek target (`ConsumerThread.seek_to_committed`).
2. Its commit bookkeeping could stall a partition's commits, or commit past a record
   nobody acknowledged: recovery resumes the flow before it seeks back, the seek then set
   the partition's "last read offset" back while the rest of that fetch was still handed
   out, and the next record looked like a gap that Faust filled into the acknowledged
   offsets before those records were processed. Here the fetch loop's hand-outs are
   tracked per partition since its assignment (`_Reading`); a seek keeps the read offset
   at the last record handed out; a read offset left from the previous assignment is
   dropped; offsets from the seek target up to the first record handed out are a gap;
   a gap ends before the record that revealed it and starts at the committed offset; a
   commit starts at the committed offset, which must itself be acknowledged.

At worst a record is processed twice (at-least-once), never skipped. The stall repairs
of services.common.stallwatch act through `refetch` and read `handed_out`,
`out_of_fetch` and `held_back_drained`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock

from services.common import faults
from services.common.runtime.offsets import commit_point, read_before
from services.common.runtime.transactions import SourceTransactions


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


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[Any, int]:
        return await self.call_thread(seek_to_committed_or_beginning, self._ensure_consumer())  # type: ignore[no-any-return]


@dataclass
class _Reading:
    """Per partition, what the fetch loop handed out since the partition was assigned
    (first and last offset), and where a seek sent its reading before anything was."""

    handed: dict[TP, tuple[int, int]] = field(default_factory=dict)
    sought: dict[TP, int] = field(default_factory=dict)
    assigned: set[TP] = field(default_factory=set)
    #: Records handed out since the assignment, through seeks (services.common.stallwatch).
    count: dict[TP, int] = field(default_factory=dict)
    #: The first offset handed out since the assignment or the last `refetch`.
    since_refetch: dict[TP, int] = field(default_factory=dict)
    lost: set[TP] = field(default_factory=set)  # faults.LOSE_PARTITION: lost once each


def _reading(consumer: Any) -> _Reading:
    reading: _Reading | None = getattr(consumer, "_newswire_reading", None)
    if reading is None:
        reading = consumer._newswire_reading = _Reading()
    return reading


class Consumer(faust_aiokafka.Consumer):
    """faust-streaming's aiokafka Consumer with the fixes above (and exactly_once's
    quiesced commit, transactions.py)."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _new_offset(self, tp: TP) -> int | None:
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

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # Called with the offset of the record that revealed the gap as `offset_to`.
        committed = self._committed_offset[tp]
        start = offset_from if committed is None else max(offset_from, committed)
        if start < offset_to:
            self._gap[tp].addi(start, offset_to)

    async def perform_seek(self) -> None:
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
                self._read_offset[tp] = read_before(start)
                reading.sought[tp] = start
                continue
            # Records handed out since the assignment wait in the stream buffers: kept, and
            # their copies fetched again are dropped by the fetch loop. Reading began at
            # `start` then too, so offsets before the first one handed out do not exist.
            first, last = handed
            self._read_offset[tp] = last
            if first > start:
                await self._add_gap(tp, start, first)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        async for tp, message in self._tracked(super().getmany(timeout)):
            yield tp, message

    async def _tracked(
        self, fetched: AsyncIterable[tuple[TP, Any]]
    ) -> AsyncIterator[tuple[TP, Any]]:
        """Faust's getmany (`fetched`), keeping _Reading up to date and the first read
        offset right.

        The fetch loop decides whether to hand a record out right after it is yielded,
        from `_read_offset`; so the same test here knows. (It may yield to the event loop
        once in between, every hundred records: a seek then keeps the read offset at this
        record, and a revocation clears both, so the decision is the same.)
        """
        reading = _reading(self)
        async for tp, message in fetched:
            offset = message.offset
            handed = reading.handed.get(tp)
            if handed is not None and offset <= handed[1]:
                # A copy fetched again after the seek back: the record itself is in the
                # stream buffers, or done. The fetch loop would drop those before the last
                # one handed out, but hand that one out again (it passes a record *at* the
                # read offset): processed twice, and under exactly_once its outputs went
                # twice into the same transaction, both committed.
                continue
            if handed is None:
                start = reading.sought.pop(tp, None)
                if start is None:
                    # Nothing handed out since the assignment, so a read offset is one the
                    # fetch loop set for a record of the previous assignment, after the
                    # revocation cleared it (it was waiting for buffer room): it would drop
                    # this assignment's records.
                    self._read_offset.pop(tp, None)
                else:
                    self._read_offset[tp] = read_before(start)  # as the seek set it
                    if offset > start:  # compacted, expired or transaction marker offsets
                        await self._add_gap(tp, start, offset)
            read = self._read_offset.get(tp)
            if read is None or offset >= read:
                reading.handed[tp] = (handed[0] if handed else offset, offset)
                reading.count[tp] = reading.count.get(tp, 0) + 1
                reading.since_refetch.setdefault(tp, offset)
                if read == 0 and offset > 1:  # the fetch loop sees no gap after offset 0
                    await self._add_gap(tp, 1, offset)
            yield tp, message
            if faults.armed() and tp not in reading.lost:
                reading.lost.add(tp)
                # Test-only stalls (services.common.stallwatch), once per partition: it
                # leaves the fetch set with nothing to bring it back, as faust-streaming's
                # flow control was seen doing (its issue 175); or the fetch loop drops
                # every record after this one, as a read offset set too far would.
                if faults.LOSE_PARTITION in faults.armed():
                    self._get_active_partitions().discard(tp)
                    self._buffered_partitions.discard(tp)
                if faults.SKIP_RECORDS in faults.armed():
                    self._read_offset[tp] = 2**62

    async def on_partitions_revoked(self, revoked: Any) -> None:
        _forget(self, revoked)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any, generation_id: int = 0) -> None:
        _reading(self).assigned = set(map(ensure_TP, assigned))
        await super().on_partitions_assigned(assigned, generation_id)

    async def force_commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        manager = self.transactions
        if not self.in_transaction or not isinstance(manager, SourceTransactions):
            return bool(await super().force_commit(topics, start_new_transaction))
        async with manager.quiesced() as unsafe:
            if unsafe:
                topics = {
                    tp
                    for tp in list(self._acked)
                    if tp not in unsafe and (topics is None or tp in topics or tp.topic in topics)
                }
            return bool(await super().force_commit(topics, start_new_transaction))


def _forget(consumer: Any, revoked: Iterable[Any]) -> None:
    """What the fetch loop handed out of the revoked partitions no longer counts."""
    reading = _reading(consumer)
    for tp in map(ensure_TP, revoked):
        reading.handed.pop(tp, None)
        reading.sought.pop(tp, None)
        reading.count.pop(tp, None)
        reading.since_refetch.pop(tp, None)
        reading.assigned.discard(tp)


def handed_out(consumer: Any, tp: TP) -> tuple[int, int | None]:
    """Records of `tp` handed out since its assignment, and the offset of the first one
    since the assignment or the last `refetch` (None: none yet)."""
    reading = _reading(consumer)
    return reading.count.get(tp, 0), reading.since_refetch.get(tp)


def out_of_fetch(consumer: Any, tps: Iterable[TP]) -> list[TP]:
    """Those of `tps` (held) that Faust neither fetches, nor holds back for a full stream
    buffer (its buffer-drop callback fetches them again), nor has paused (recovery
    resumes those): nothing would ever fetch them again."""
    active = consumer._get_active_partitions()
    return [
        tp
        for tp in tps
        if tp not in active
        and tp not in consumer._buffered_partitions
        and tp not in consumer._paused_partitions
    ]


def held_back_drained(
    consumer: Any, tps: Iterable[TP], channels_of: Callable[[TP], Iterable[Any]]
) -> set[TP]:
    """Those of `tps` held back for a full stream buffer although every buffer they feed
    has drained to its low mark, where Faust fetches them again (see flow.py)."""
    return {
        tp
        for tp in tps
        if tp in consumer._buffered_partitions
        and all(ch.queue.qsize() <= ch.queue.pressure_drop_size for ch in channels_of(tp))
    }


async def refetch(consumer: Any, tp: TP, committed: int) -> int:
    """Fetch `tp` again from its first record not handed out, whatever the flow control
    thinks; returns that offset.

    Not from the client's position: while a partition is out of the fetch set, the fetch
    loop drops the records the client already returned (the position is past them), and
    the next record handed out would make them a gap, committed over: lost. Records
    handed out stay where they are (the stream buffer, the agent), as a rebalance's seek
    keeps them (`Consumer.perform_seek`).
    """
    reading = _reading(consumer)
    handed = reading.handed.get(tp)
    if handed is None:
        start = committed
        reading.sought[tp] = start
        consumer._read_offset[tp] = read_before(start)
    else:
        start = handed[1] + 1
        consumer._read_offset[tp] = handed[1]
    reading.since_refetch.pop(tp, None)
    consumer._paused_partitions.discard(tp)
    consumer._buffered_partitions.discard(tp)
    consumer._get_active_partitions().add(tp)
    await consumer._thread.call_thread(consumer._thread.seek, tp, start)
    return start
