"""services.common.runtime against a real broker: the seek back really goes back."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from services.common.runtime import seek_to_committed_or_beginning


async def positions_after_seek(bootstrap: str, commit: int | None) -> tuple[int, int]:
    """Consume a new one-partition topic to its end, commit `commit`, seek back.

    Returns (position before the seek, position after it).
    """
    topic = f"test-seek-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"r{i}".encode(), partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        seen = 0
        while seen < 5:
            batch = await consumer.getmany(timeout_ms=5000)
            seen += sum(len(records) for records in batch.values())
        before = await consumer.position(tp)
        if commit is not None:
            await consumer.commit({tp: OffsetAndMetadata(commit, "")})
        committed = await seek_to_committed_or_beginning(consumer)
        # Where reading starts: the committed offset, or the partition's first.
        assert committed == {tp: 0 if commit is None else commit}
        return before, await consumer.position(tp)
    finally:
        await consumer.stop()


def test_seek_back_with_nothing_committed_goes_to_the_beginning(kafka_bootstrap: str) -> None:
    # aiokafka's own seek_to_committed leaves the position at 5 here.
    assert asyncio.run(positions_after_seek(kafka_bootstrap, None)) == (5, 0)


def test_seek_back_to_a_committed_zero(kafka_bootstrap: str) -> None:
    assert asyncio.run(positions_after_seek(kafka_bootstrap, 0)) == (5, 0)


def test_seek_back_to_a_committed_offset(kafka_bootstrap: str) -> None:
    assert asyncio.run(positions_after_seek(kafka_bootstrap, 3)) == (5, 3)
