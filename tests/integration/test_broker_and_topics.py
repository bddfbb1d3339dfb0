"""The local broker and the topic declarations, against a real Kafka."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.common.kafka import cluster_metadata_ok, ensure_topics
from services.common.settings import Settings
from services.common.topics import ALL_TOPICS, FEEDS, PAGES


def test_broker_answers_metadata(kafka_bootstrap: str) -> None:
    assert asyncio.run(cluster_metadata_ok(kafka_bootstrap))


def test_topics_are_declared_with_their_contract(kafka_settings: Settings) -> None:
    asyncio.run(ensure_topics(kafka_settings))
    assert asyncio.run(ensure_topics(kafka_settings)) == []  # idempotent

    async def describe() -> tuple[dict[str, int], dict[str, dict[str, str]]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.kafka_bootstrap)
        await admin.start()
        try:
            meta = await admin.describe_topics([t.name for t in ALL_TOPICS])
            partitions = {t["topic"]: len(t["partitions"]) for t in meta}
            resources = [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in (FEEDS, PAGES)]
            configs: dict[str, dict[str, str]] = {}
            for response in await admin.describe_configs(resources):
                for resource in response.resources:
                    configs[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
            return partitions, configs
        finally:
            await admin.close()

    partitions, configs = asyncio.run(describe())
    assert partitions == {
        t.name: t.partitions or kafka_settings.topic_partitions for t in ALL_TOPICS
    }
    assert configs[FEEDS.name]["cleanup.policy"] == "compact"
    assert configs[PAGES.name]["cleanup.policy"] == "delete"
    assert int(configs[PAGES.name]["max.message.bytes"]) == kafka_settings.max_message_bytes
