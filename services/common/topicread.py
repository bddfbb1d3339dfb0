"""Read a topic's records back: every partition assigned, no consumer group, nothing committed.

For the CLI (`newswire feeds list`, `newswire tail`) and the tests: a reader that sees
each record of the topic whatever any group has consumed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiokafka import TopicPartition

from services.common.errors import NewswireError
from services.common.kafka import consumer, read_tail
from services.common.runtime import probe
from services.common.settings import Settings


async def read_topic(
    settings: Settings,
    topic: str,
    *,
    from_beginning: bool = True,
    max_records: int | None = None,
    timeout: float | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_idle: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Read records (key, partition, offset, value as JSON when it is JSON); `on_idle`
    is called after each wait for records that brought none (about every half second)."""
    cons = consumer(settings, enable_auto_commit=False, group_id=None)
    await cons.start()
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout if timeout else None
    try:
        # Assign every partition explicitly: no group, no rebalance, nothing missed.
        partitions = await _partitions(cons, topic, deadline)
        cons.assign(partitions)
        if from_beginning:
            await cons.seek_to_beginning(*partitions)
        else:
            await cons.seek_to_end(*partitions)
        while (max_records is None or len(out) < max_records) and (
            deadline is None or time.monotonic() < deadline
        ):
            batch = await cons.getmany(timeout_ms=500)
            if not batch and on_idle is not None:
                on_idle()
            for records in batch.values():
                for rec in records:
                    item = {
                        "topic": rec.topic,
                        "partition": rec.partition,
                        "offset": rec.offset,
                        "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
                        "value": _value(rec.value),
                    }
                    out.append(item)
                    if on_record is not None:
                        on_record(item)
    finally:
        await cons.stop()
    return out


async def read_all(settings: Settings, topic: str) -> list[dict[str, Any]]:
    """Every record of `topic` up to the partitions' ends when called, as `read_topic`
    gives them: complete however slow the broker, where a read bounded by time may stop
    short of a busy topic's end."""
    return [
        {
            "topic": rec.topic,
            "partition": rec.partition,
            "offset": rec.offset,
            "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
            "value": _value(rec.value),
        }
        async for rec in read_tail(settings, topic, {})
    ]


async def _partitions(cons: Any, topic: str, deadline: float | None) -> list[TopicPartition]:
    while True:
        await probe.refresh_metadata(cons)
        found = cons.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if deadline is not None and time.monotonic() > deadline:
            raise NewswireError(f"topic {topic} does not exist")
        await asyncio.sleep(0.5)


def _value(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
