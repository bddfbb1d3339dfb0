"""Each topic's cleanup policy, retention and partitions on a real broker, against the
table in schemas/README.md (what consumers are promised) and services/common/topics.py
(what the services create)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.common.kafka import ensure_topics
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topics import ALL_TOPICS, BY_NAME, DAY_MS

README = PROJECT_ROOT / "schemas" / "README.md"


@dataclass(frozen=True)
class Documented:
    topic: str
    key: str
    policy: str  # "compact" or "delete"
    retention_days: int | None
    partitions: int | str | None  # a setting's name; None: NEWSWIRE_TOPIC_PARTITIONS
    schema: str


ROW = re.compile(r"^\|\s*`(newswire\.[\w.-]+)`\s*\|(.*)\|\s*$")


def documented_topics(text: str) -> dict[str, Documented]:
    """The README's topic table, one row per topic, read cell by cell."""
    out: dict[str, Documented] = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        key, cleanup, schema, _carries = (c.strip() for c in m[2].split("|"))
        policy = cleanup.split()[0].rstrip(",")
        days = re.search(r"\b(\d+) days?\b", cleanup)
        parts = re.search(r"\*\*(\w+) partitions?\*\*", cleanup)
        out[m[1]] = Documented(
            topic=m[1],
            key=key,
            policy=policy,
            retention_days=int(days[1]) if days else None,
            partitions=(int(parts[1]) if parts[1].isdigit() else parts[1]) if parts else None,
            schema=schema.strip("`"),
        )
    return out


def test_the_readme_table_parses_as_written() -> None:
    # Hand-checked against the README, so a parser that reads nothing cannot pass.
    table = documented_topics(README.read_text())
    assert table["newswire.feeds"].policy == "compact"
    assert table["newswire.feeds"].retention_days is None
    assert table["newswire.feed-polls"].retention_days == 1
    assert table["newswire.pages"].retention_days == 3
    assert table["newswire.stories"].retention_days == 30
    assert table["newswire.dedup-sequence"].partitions == "NEWSWIRE_DEDUP_SEQUENCES"
    assert table["newswire.dlq"].schema == "dlq.schema.json"


def test_the_readme_and_topics_py_agree() -> None:
    table = documented_topics(README.read_text())
    assert set(table) == set(BY_NAME)
    for spec in ALL_TOPICS:
        row = table[spec.name]
        assert row.key == spec.key, spec.name
        assert row.schema == spec.schema, spec.name
        assert row.policy == ("compact" if spec.compacted else "delete"), spec.name
        if spec.compacted:
            assert row.retention_days is None, spec.name
        else:
            assert spec.retention_ms == (row.retention_days or 0) * DAY_MS, spec.name
        if isinstance(spec.partitions, str):  # the setting that gives the count
            assert row.partitions == f"NEWSWIRE_{spec.partitions.upper()}", spec.name
        else:
            assert row.partitions == spec.partitions, spec.name


async def _describe(settings: Settings) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
    await admin.start()
    try:
        meta = await admin.describe_topics([t.name for t in ALL_TOPICS])
        partitions = {t["topic"]: len(t["partitions"]) for t in meta}
        resources = [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in ALL_TOPICS]
        configs: dict[str, dict[str, str]] = {}
        for response in await admin.describe_configs(resources):
            for _code, _message, _type, name, entries in response.resources:
                # entry: name, value, read_only, is_default (v0) / config_source, ...
                configs[name] = {entry[0]: entry[1] for entry in entries}
        return partitions, configs
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def broker_topics(kafka_settings: Settings) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    asyncio.run(ensure_topics(kafka_settings))
    return asyncio.run(_describe(kafka_settings))


@pytest.mark.parametrize("topic", [t.name for t in ALL_TOPICS])
def test_each_topic_on_the_broker_is_as_documented(
    topic: str,
    broker_topics: tuple[dict[str, int], dict[str, dict[str, str]]],
    kafka_settings: Settings,
) -> None:
    partitions, configs = broker_topics
    row = documented_topics(README.read_text())[topic]
    config = configs[topic]
    assert config["cleanup.policy"] == row.policy
    if row.retention_days is not None:
        assert int(config["retention.ms"]) == row.retention_days * 24 * 3600 * 1000
    else:
        # Compacted: kept until overwritten or removed, whatever retention says.
        assert row.policy == "compact"
    assert partitions[topic] == BY_NAME[topic].partition_count(kafka_settings)
    if not isinstance(row.partitions, str):
        assert partitions[topic] == (row.partitions or kafka_settings.kafka.topic_partitions)
    assert int(config["max.message.bytes"]) == kafka_settings.kafka.max_message_bytes
