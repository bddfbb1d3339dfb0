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
     (those wait in the stream buffers; their copies fetched again are dropped, the
     last one's too, which the fetch loop would hand out twice), so no gap is made up
     over them, and only moves it when nothing was handed out;
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

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka.errors import ProducerFenced
from faust.streams import current_event
from faust.tables import manager as faust_table_manager
from faust.tables.recovery import Recovery
from faust.transport.consumer import TransactionManager, ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock
from mode import Service
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from services.common import faults
from services.common.errors import ConfigError


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
                self._read_offset[tp] = _read_before(start)  # as the seek set it
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
            # Test-only stalls (services.common.stallwatch), once per partition: it leaves
            # the fetch set with nothing to bring it back, as faust-streaming's flow
            # control was seen doing (its issue 175); or the fetch loop drops every
            # record after this one, as a read offset set too far would.
            if faults.LOSE_PARTITION in faults.armed():
                self._get_active_partitions().discard(tp)
                self._buffered_partitions.discard(tp)
            if faults.SKIP_RECORDS in faults.armed():
                self._read_offset[tp] = 2**62


async def _revoked(self: Any, revoked: Any) -> None:
    reading = _reading(self)
    for tp in map(ensure_TP, revoked):
        reading.handed.pop(tp, None)
        reading.sought.pop(tp, None)
        reading.count.pop(tp, None)
        reading.since_refetch.pop(tp, None)
        reading.assigned.discard(tp)
    await _on_partitions_revoked(self, revoked)


async def _assigned(self: Any, assigned: Any, generation_id: int = 0) -> None:
    _reading(self).assigned = set(map(ensure_TP, assigned))
    await _on_partitions_assigned(self, assigned, generation_id)


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
    has drained to its low mark, where Faust fetches them again (see
    `_endorse_pressure_drop`)."""
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
    keeps them (`_perform_seek`).
    """
    reading = _reading(consumer)
    handed = reading.handed.get(tp)
    if handed is None:
        start = committed
        reading.sought[tp] = start
        consumer._read_offset[tp] = _read_before(start)
    else:
        start = handed[1] + 1
        consumer._read_offset[tp] = handed[1]
    reading.since_refetch.pop(tp, None)
    consumer._paused_partitions.discard(tp)
    consumer._buffered_partitions.discard(tp)
    consumer._get_active_partitions().add(tp)
    await consumer._thread.call_thread(consumer._thread.seek, tp, start)
    return start


_on_partitions_revoked = faust_aiokafka.Consumer.on_partitions_revoked
_on_partitions_assigned = faust_aiokafka.Consumer.on_partitions_assigned
faust_aiokafka.Consumer._new_offset = _new_offset  # type: ignore[method-assign]
faust_aiokafka.Consumer._add_gap = _add_gap  # type: ignore[method-assign]
faust_aiokafka.Consumer.perform_seek = _perform_seek  # type: ignore[method-assign]
faust_aiokafka.Consumer.getmany = _getmany_tracked  # type: ignore[method-assign]
faust_aiokafka.Consumer.on_partitions_revoked = _revoked  # type: ignore[method-assign]
faust_aiokafka.Consumer.on_partitions_assigned = _assigned  # type: ignore[method-assign]


def _endorse_pressure_drop(self: Any) -> None:
    """Fetch every partition held back for a full stream buffer again once the buffer has
    drained to its low mark, not one of them.

    mode's queue calls one pending callback (`set.pop()`) each time a record is taken at
    or below the low mark; the partition it names refills the buffer above the mark before
    the next is called, and `set.pop()` keeps naming the same one. In `make soak`'s burst
    the enricher's stream buffer took records of one `newswire.articles` partition only
    for 11 minutes while the other three, with thousands of records, were never fetched
    (Faust: "Stream stopped processing, or is slow ... last inbound 11 minutes ago").
    """
    pending = self._pending_pressure_drop_callbacks
    if pending and self.qsize() <= self.pressure_drop_size:
        callbacks = list(pending)
        pending.clear()
        for callback in callbacks:
            callback()
        self.on_pressure_drop()


FlowControlQueue.maybe_endorse_pressure_drop = _endorse_pressure_drop  # type: ignore[method-assign]


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


# ---- recovery over transaction markers --------------------------------------------------
# A changelog written by an exactly_once worker ends each transaction with a marker: an
# offset of its own that no consumer ever receives. Faust's recovery is done when every
# active changelog partition's last record seen reaches "highwater - 1", the log's last
# offset; when that offset is a marker, it never is. Faust makes up for it
# (detect_aborted_tx) only in a worker that runs exactly_once itself, after two 5 s waits
# for more records: a worker switched back to at_least_once stayed in recovery for good.


#: How often a recovery looks for partitions read to their end past their last record.
MARKER_CHECK_S = 1.0


def markers_only_left(last_offset: int, seen: int | None, position: int | None) -> bool:
    """Whether a changelog partition whose last offset is `last_offset` is read to its end
    although its last record seen is `seen`: the consumer's `position` (the next offset to
    fetch) is past the end, so what lies after `seen` are markers (or aborted records the
    consumer drops), nothing a table would receive."""
    if position is None or seen is None or seen >= last_offset:
        return False
    return position > last_offset


class MarkerAwareRecovery(Recovery):
    """Faust's table recovery, which also ends at changelog partitions whose last offsets
    are transaction markers, whatever the worker's processing guarantee.

    The consumer's position is past the markers as soon as it has fetched them (aiokafka
    skips control batches at any isolation level). Records it handed to Faust before may
    still be on their way to the table, so a partition counts as read only when two
    checks in a row find its position past the end, no new record seen meanwhile and the
    changelog queue empty. Its last seen offset is then set to the last offset, and
    Faust's own check (on its next record or 5 s wait) ends the recovery.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_to_end: dict[TP, tuple[int, int]] = {}  # tp -> (seen, position)

    @Service.task
    async def _skip_trailing_markers(self) -> None:
        while not self.should_stop:
            await self.sleep(MARKER_CHECK_S)
            if not self.in_recovery:
                self._read_to_end.clear()
                continue
            try:
                await self._check_read_to_end()
            except Exception as exc:  # a rebalance under way, say: the next round sees
                self.log.debug("changelog end check failed: %r", exc)

    async def _check_read_to_end(self) -> None:
        consumer = self.app.consumer
        offsets = self.active_offsets
        for tp, last in list(self.active_highwaters.items()):
            seen = offsets.get(tp)
            if seen is None or last is None or seen >= last:
                self._read_to_end.pop(tp, None)
                continue
            position = await consumer.position(tp)
            if not markers_only_left(last, seen, position):
                self._read_to_end.pop(tp, None)
                continue
            assert position is not None
            queue_empty = self.tables.changelog_queue.empty()
            if queue_empty and self._read_to_end.get(tp) == (seen, position):
                self.log.info(
                    "%s read to its end: offsets %d..%d are transaction markers", tp, seen + 1, last
                )
                offsets[tp] = last
                self._read_to_end.pop(tp, None)
            else:
                self._read_to_end[tp] = (seen, position)


faust_table_manager.Recovery = MarkerAwareRecovery  # type: ignore[attr-defined]


# ---- exactly_once ----------------------------------------------------------------------
# Everything from here to the end of the file is the processing_guarantee="exactly_once"
# workaround; at-least-once workers never reach it (each hook checks `in_transaction`).

#: How long a commit waits for the records whose outputs are in its transaction to be
#: acknowledged; past it those partitions are left for the next commit.
QUIESCE_TIMEOUT_S = 30.0
_QUIESCE_POLL_S = 0.005

EXACTLY_ONCE_NOACK = (
    "NEWSWIRE_PROCESSING_GUARANTEE=exactly_once is not supported by a service whose agents "
    "acknowledge records themselves (stream.noack() with OrderedAcks: the fetcher's page "
    "lanes, dedup's agents): a record's outputs go out before the records read ahead of it "
    "are finished, so every transaction commit would carry outputs of records whose offsets "
    "it does not commit, and a crash would publish them twice. Run this service with "
    "at_least_once (its outputs are keyed and idempotent downstream)."
)


def source_transactional_id(app_id: str, tp: TP) -> str:
    """The transactional id owning `tp`'s outputs and offsets: stable across restarts and
    rebalances, so the partition's next owner fences a zombie and aborts its transaction."""
    return f"{app_id}-{tp.topic}-{tp.partition}"


class SourceTransactions(TransactionManager):
    """Faust's transaction manager, with the transaction chosen by the record being
    processed rather than by where the output goes.

    faust-streaming 0.15.3's manager maps a partition to a transactional producer through
    its partition assignor's copartitioning groups, and an output to the producer of the
    *destination* partition. In Newswire that failed three ways:

    - an app without tables runs aiokafka's round-robin assignor (faust-streaming PR 402),
      so Faust's assignor never learns its groups and the first rebalance raised
      KeyError in `_tps_to_transactional_ids` (the enricher; faust-streaming issue 440);
    - an output topic the worker does not consume has no partition in the consumer's
      metadata, so it was sent outside any transaction (the cleaner's articles: plain
      idempotent records, at-least-once);
    - an output to a topic it does consume went to the destination partition's producer,
      owned by whichever worker holds that partition (often none here).

    Here each assigned partition of an acking topic has a producer of its own
    (`source_transactional_id`), begun at assignment; a send made while an agent
    processes an event (Faust's `current_event`) goes into that event's partition's
    transaction, with table changelog writes (`send_soon`) too; and a commit sends the
    partition's offsets in its own transaction. Sends outside any event (timers) use the
    plain idempotent producer. A commit first closes a gate and waits until every record
    with outputs in the open transactions is acknowledged (`quiesced`), so a transaction
    never commits a record's outputs without its offset. It can go once faust-streaming
    routes transactional sends by source partition (or aiokafka's consumer-driven
    transactions replace Faust's manager: "Probably this has to go", its comment says).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tids: dict[TP, str] = {}
        self._in_txn: dict[int, Any] = {}  # id(message) -> message with outputs sent
        self._open = asyncio.Event()
        self._open.set()
        self._blocked: dict[TP, int] = defaultdict(int)  # sends waiting at the gate
        self._sending: dict[TP, int] = defaultdict(int)  # past the gate, not yet handed over
        self._publishing: dict[asyncio.Future[Any], Any] = {}  # changelog write -> message

    def _transactional(self, tps: Iterable[TP]) -> list[TP]:
        topics = self.app.topics
        return sorted(
            tp
            for tp in map(ensure_TP, tps)
            if topics.acks_enabled_for(tp.topic) and not self.app.assignor.is_standby(tp)
        )

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP]
    ) -> None:
        # Revocation waited for in-flight records and committed: an open transaction of a
        # revoked partition holds nothing worth keeping; its next owner aborts it.
        for tp in map(ensure_TP, revoked):
            tid = self._tids.pop(tp, None)
            if tid is not None:
                await self.producer.stop_transaction(tid)
        gone = set(map(ensure_TP, revoked))
        self._in_txn = {k: m for k, m in self._in_txn.items() if m.tp not in gone}
        for tp in self._transactional(assigned):
            tid = self._tids[tp] = source_transactional_id(self.app.conf.id, tp)
            await self._begin(tid)

    async def _begin(self, tid: str) -> None:
        # Not Faust's begin_transaction: it logs and swallows a failure, and every send of
        # the partition would then fail; here the worker crashes and restarts instead.
        producer: Any = self.producer  # Faust's aiokafka Producer: its private parts
        txp = producer._transaction_producers.get(tid)
        if txp is None:
            txp = producer._new_producer(transactional_id=tid)
            await txp.start()  # InitProducerId: fences the previous owner, aborts its txn
            producer._transaction_producers[tid] = txp
            producer._trn_locks[tid] = asyncio.Lock()
        if not txp._txn_manager.is_in_transaction():
            await txp.begin_transaction()

    def _tid_for_current_event(self) -> tuple[Any, str] | tuple[None, None]:
        event = current_event()
        if event is None:
            return None, None
        tid = self._tids.get(ensure_TP(event.message.tp))
        return (event.message, tid) if tid is not None else (None, None)

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        message, tid = self._tid_for_current_event()
        if message is None or tid is None:
            return await self.producer.send(topic, key, value, partition, timestamp, headers)
        tp = ensure_TP(message.tp)
        await self._enter(message, tp)
        try:
            return await self.producer.send(
                topic, key, value, partition, timestamp, headers, transactional_id=tid
            )
        finally:
            self._sending[tp] -= 1

    async def _enter(self, message: Any, tp: TP) -> None:
        """Join the open transaction; a record new to it waits while a commit runs."""
        if id(message) not in self._in_txn:
            if not self._open.is_set():
                self._blocked[tp] += 1
                try:
                    await self._open.wait()
                finally:
                    self._blocked[tp] -= 1
            self._in_txn[id(message)] = message
        self._sending[tp] += 1

    def publish_soon(self, fut: Any) -> bool:
        """Publish a buffered message (a table's changelog write) in the current event's
        transaction; False when there is none (Faust's buffer sends it then)."""
        message, _ = self._tid_for_current_event()
        if message is None:
            return False
        if self._open.is_set():
            # Joined now, not when the task runs: the record may be acknowledged first.
            self._in_txn[id(message)] = message
        # A task copies this context, so `send` sees the same event; Faust's buffer would
        # send it from its own task, outside every transaction.
        task = asyncio.ensure_future(fut.message.channel.publish_message(fut, wait=False))
        self._publishing[task] = message
        task.add_done_callback(self._publishing.pop)
        return True

    @contextlib.asynccontextmanager
    async def quiesced(self) -> AsyncIterator[set[TP]]:
        """Hold new records out of the transactions while the records already in them
        are acknowledged; yields the partitions that are not safe to commit now."""
        self._open.clear()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + QUIESCE_TIMEOUT_S
            # Polled: acknowledgements are Faust's (Message.ack), which signals nothing
            # this could wait on without taking Faust's own wait_empty future.
            while loop.time() < deadline and (  # noqa: ASYNC110
                any(not m.acked for m in self._in_txn.values())
                or any(self._sending.values())
                or any(id(m) in self._in_txn for m in self._publishing.values())
            ):
                await asyncio.sleep(_QUIESCE_POLL_S)
            self._in_txn = {k: m for k, m in self._in_txn.items() if not m.acked}
            unsafe = {ensure_TP(m.tp) for m in self._in_txn.values()}
            # A changelog write waiting at the gate belongs to a record that may be
            # acknowledged already: its partition waits for the next commit.
            unsafe |= {tp for tp, n in self._blocked.items() if n}
            unsafe |= {ensure_TP(m.tp) for m in self._publishing.values()}
            unsafe |= {tp for tp, n in self._sending.items() if n}
            yield unsafe
        finally:
            self._open.set()

    async def commit(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        producer: Any = self.producer
        consumer: Any = self.consumer
        group_id = self.app.conf.id
        plain: dict[TP, int] = {}
        for tp, offset in offsets.items():
            tid = self._tids.get(ensure_TP(tp))
            txp = producer._transaction_producers.get(tid) if tid else None
            if txp is None:
                plain[tp] = offset  # nothing of it was sent in a transaction
                continue
            try:
                async with producer._trn_locks[tid]:
                    await txp.send_offsets_to_transaction({tp: offset}, group_id)
                    await txp.commit_transaction()
                    if start_new_transaction:
                        await txp.begin_transaction()
            except ProducerFenced as exc:
                # Another worker owns the partition now: this one is a zombie.
                await self.app.crash(exc)
                return False
        if plain:
            await consumer._commit(plain)
        return True


_force_commit = faust_aiokafka.Consumer.force_commit


async def _force_commit_quiesced(
    self: Any, topics: Any = None, start_new_transaction: bool = True
) -> bool:
    manager = self.transactions
    if not self.in_transaction or not isinstance(manager, SourceTransactions):
        return await _force_commit(self, topics, start_new_transaction)  # type: ignore[no-any-return]
    async with manager.quiesced() as unsafe:
        if unsafe:
            topics = {
                tp
                for tp in list(self._acked)
                if tp not in unsafe and (topics is None or tp in topics or tp.topic in topics)
            }
        return await _force_commit(self, topics, start_new_transaction)  # type: ignore[no-any-return]


_send_soon = faust_aiokafka.Producer.send_soon


def _send_soon_in_transaction(self: Any, fut: Any) -> None:
    manager = self.app.consumer.transactions if self.app.in_transaction else None
    if isinstance(manager, SourceTransactions) and manager.publish_soon(fut):
        return
    _send_soon(self, fut)


_noack = faust.Stream.noack
_crashing: list[asyncio.Future[Any]] = []  # referenced until they run


def _noack_refused_in_transaction(self: Any) -> Any:
    if self.app.in_transaction:
        # Raised in the agent, which Faust's supervisor would restart forever: the worker
        # is crashed with it (at start-up: agents call noack before their first record).
        exc = ConfigError(EXACTLY_ONCE_NOACK)
        _crashing.append(asyncio.ensure_future(self.app.crash(exc)))
        raise exc
    return _noack(self)


faust_aiokafka.Transport.TransactionManager = SourceTransactions
faust_aiokafka.Consumer.force_commit = _force_commit_quiesced  # type: ignore[method-assign]
faust_aiokafka.Producer.send_soon = _send_soon_in_transaction  # type: ignore[method-assign]
faust.Stream.noack = _noack_refused_in_transaction  # type: ignore[method-assign]
