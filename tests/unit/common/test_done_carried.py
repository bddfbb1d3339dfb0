"""Records a stopped worker noted as done past its commit stay known after the next
owner's commits: Faust's plain commits (empty metadata) used to forget them, so a
rebalance soon after a restart (a rolling restart) had them redone.

Fakes for the consumer's thread and aiokafka's consumer: its committed offsets and
metadata are whatever was committed last, as on a broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from faust.types import TP

from services.common import donemeta
from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.common.topics import ENTRIES

PART = TP(ENTRIES.name, 0)
KAFKA_PART = TopicPartition(ENTRIES.name, 0)


class KafkaConsumer:
    """aiokafka's side: commit stores the offset and metadata a fetch returns."""

    def __init__(self, offset: int, metadata: str) -> None:
        self.stored = OffsetAndMetadata(offset, metadata)
        self._coordinator = self

    async def commit(self, offsets: dict[Any, OffsetAndMetadata] | None = None) -> None:
        assert offsets is not None
        self.stored = offsets[KAFKA_PART]

    async def fetch_committed_offsets(self, tps: list[Any]) -> dict[Any, OffsetAndMetadata]:
        return {tp: self.stored for tp in tps}


class Thread:
    def __init__(self, kafka: KafkaConsumer) -> None:
        self.kafka = kafka

    def _ensure_consumer(self) -> KafkaConsumer:
        return self.kafka

    async def call_thread(self, fn: Any) -> Any:
        return await fn()


class Consumer:
    def __init__(self, kafka: KafkaConsumer) -> None:
        self._thread = Thread(kafka)
        self._committed_offset: dict[TP, int] = {}

    def assignment(self) -> set[TP]:
        return {PART}


def event(offset: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(tp=PART, offset=offset))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[StageApp]:
    yield StageApp("fetcher", Settings(kafka_bootstrap="127.0.0.1:9", data_dir=tmp_path))


def test_carried_keeps_what_lies_past_the_commit() -> None:
    metadata = donemeta.carried(10, "", {5, 12, 13})
    assert donemeta.decode_done(metadata, 10) == {12, 13}
    assert donemeta.carried(10, "", {5, 9}) == ""  # all passed: nothing to keep
    assert donemeta.carried(10, "given", {12}) == "given"  # a note of its own wins


async def test_a_plain_commit_keeps_the_noted_records_for_the_next_owner(app: StageApp) -> None:
    # The stopped worker committed offset 10 noting 12, 13 and 20 as done.
    kafka = KafkaConsumer(10, donemeta.encode_done(10, [12, 13, 20]))
    app.app._consumer = Consumer(kafka)  # type: ignore[assignment]
    assert [await app.done_before(event(o)) for o in (10, 11, 12, 13, 20)] == [
        False, False, True, True, True,
    ]  # fmt: skip
    # Faust commits as it goes, with empty metadata: 20 is not reached yet.
    await kafka.commit({KAFKA_PART: OffsetAndMetadata(14, "")})
    assert donemeta.decode_done(kafka.stored.metadata, 14) == {20}
    # A rolling restart: the partition is revoked and assigned again (here, or to a
    # worker that only has the broker's word): 20 is still known as done.
    await app.app.on_partitions_revoked.send({PART})
    assert await app.done_before(event(20))
    assert not await app.done_before(event(15))
    fresh = StageApp(
        "fetcher", Settings(kafka_bootstrap="127.0.0.1:9", data_dir=app.settings.worker.data_dir)
    )
    fresh.app._consumer = Consumer(kafka)  # type: ignore[assignment]
    assert await fresh.done_before(event(20))
    # Past every noted record, the commits say nothing more.
    await kafka.commit({KAFKA_PART: OffsetAndMetadata(21, "")})
    assert kafka.stored.metadata == ""
