"""processing_guarantee="exactly_once" made to work for Newswire's services.

At-least-once workers never reach any of it: each hook checks `in_transaction`. Installed
through the app's transport (TransactionManager, Producer), its Stream class and the
consumer's `force_commit` (consumer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import faust
from aiokafka.errors import ProducerFenced
from faust.streams import current_event
from faust.transport.consumer import TransactionManager, ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from services.common.errors import ConfigError

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


class Producer(faust_aiokafka.Producer):
    """Faust's aiokafka producer; a table's changelog write made while an agent processes
    an event goes into that event's transaction."""

    def send_soon(self, fut: Any) -> None:
        manager = self.app.consumer.transactions if self.app.in_transaction else None
        if isinstance(manager, SourceTransactions) and manager.publish_soon(fut):
            return
        super().send_soon(fut)


_crashing: list[asyncio.Future[Any]] = []  # referenced until they run


class Stream(faust.Stream):  # type: ignore[type-arg]
    """faust.Stream, refusing `noack` (agents acknowledging themselves) under exactly_once."""

    def noack(self) -> Any:
        if self.app.in_transaction:
            # Raised in the agent, which Faust's supervisor would restart forever: the
            # worker is crashed with it (at start-up: agents call noack first).
            exc = ConfigError(EXACTLY_ONCE_NOACK)
            _crashing.append(asyncio.ensure_future(self.app.crash(exc)))
            raise exc
        return super().noack()
