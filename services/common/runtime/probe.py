"""What the worker reads of Faust's consumer and asks of aiokafka's client directly.

The stall watch, the lag probe and the commit of records done past the commit point
(faustapp) need state Faust keeps private (which partitions it fetches, holds back or
has paused, the stream buffers per partition, the records not yet acknowledged) and
calls aiokafka makes only in the consumer's thread (position, committed metadata, a
commit with metadata). They are all here, beside the fixes that define that state, so
that a faust-streaming or aiokafka release is checked against one package
(versions.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiokafka.structs import OffsetAndMetadata, TopicPartition
from faust.types import TP

from services.common.runtime.consumer import handed_out


def waiting_partitions(consumer: Any) -> set[TP]:
    """Partitions with a record handed to an agent and not yet acknowledged."""
    return {m.tp for m in list(consumer._unacked_messages) if not m.acked}


def channels_of(app: Any) -> Callable[[TP], Iterable[Any]]:
    """The stream channels (with their buffers) each partition's records go to."""
    index = app.topics._tp_index
    return lambda tp: index.get(tp, ())


def fetch_state(consumer: Any, tp: TP, channels: Iterable[Any]) -> str:
    """How Faust's fetch loop stands with `tp`: for the log, when a stall is found."""
    queues = [chan.queue for chan in channels]
    return (
        f"read offset {consumer._read_offset.get(tp)}, "
        f"handed out {handed_out(consumer, tp)}, "
        f"fetching {tp in consumer._get_active_partitions()}, "
        f"buffer-full {tp in consumer._buffered_partitions}, "
        f"paused {tp in consumer._paused_partitions}, "
        f"buffered {sum(q.qsize() for q in queues)}, "
        f"drop callbacks pending {sum(len(q._pending_pressure_drop_callbacks) for q in queues)}"
    )


async def in_consumer_thread(app: Any, fn: Callable[[Any], Awaitable[Any]], timeout: float) -> Any:
    """`fn(kafka_consumer)` in the consumer's thread (where aiokafka's consumer lives),
    given up after `timeout`: aiokafka retries a committed-offset fetch for as long as the
    coordinator is away (a paused broker: forever), and the agent waiting on it would read
    nothing meanwhile. (mode's thread does not resolve a promise given up on.)"""
    thread = app.consumer._thread

    async def call() -> Any:
        return await fn(thread._ensure_consumer())

    return await asyncio.wait_for(thread.call_thread(call), timeout)


async def position(kafka_consumer: Any, tp: TP) -> Any:
    return await kafka_consumer.position(TopicPartition(tp.topic, tp.partition))


async def committed_with_metadata(kafka_consumer: Any, tp: TP) -> OffsetAndMetadata | None:
    atp = TopicPartition(tp.topic, tp.partition)
    found = await kafka_consumer._coordinator.fetch_committed_offsets([atp])
    return found.get(atp)


def carry_in_commits(kafka_consumer: Any, rewrite: Callable[[Any, Any], Any]) -> None:
    """Make every commit of `kafka_consumer` (Faust's own too, every commit interval) pass
    each (partition, offset) through `rewrite` first; once per client."""
    if getattr(kafka_consumer, "_newswire_carries_done", False):
        return
    commit = kafka_consumer.commit

    async def carrying(offsets: Mapping[Any, Any] | None = None) -> Any:
        if offsets:
            offsets = {tp: rewrite(tp, om) for tp, om in offsets.items()}
        return await commit(offsets)

    kafka_consumer.commit = carrying
    kafka_consumer._newswire_carries_done = True


async def refresh_metadata(kafka_consumer: Any) -> None:
    """Ask the broker for the cluster's metadata now (a topic just created, say), rather
    than at the client's next periodic refresh: aiokafka has no public call for it."""
    await kafka_consumer._client.force_metadata_update()
