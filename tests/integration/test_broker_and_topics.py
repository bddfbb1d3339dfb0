"""The local broker and the topic declarations, against a real Kafka."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.common.kafka import cluster_metadata_ok, consumer, ensure_topics, producer
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topics import ALL_TOPICS, FEEDS, PAGES


def test_broker_answers_metadata(kafka_bootstrap: str) -> None:
    assert asyncio.run(cluster_metadata_ok(kafka_bootstrap))


def test_topics_are_declared_with_their_contract(kafka_settings: Settings) -> None:
    asyncio.run(ensure_topics(kafka_settings))
    assert asyncio.run(ensure_topics(kafka_settings)) == []  # idempotent

    async def describe() -> tuple[dict[str, int], dict[str, dict[str, str]]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.kafka.bootstrap)
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
    assert partitions == {t.name: t.partition_count(kafka_settings) for t in ALL_TOPICS}
    assert configs[FEEDS.name]["cleanup.policy"] == "compact"
    assert configs[PAGES.name]["cleanup.policy"] == "delete"
    assert int(configs[PAGES.name]["max.message.bytes"]) == kafka_settings.kafka.max_message_bytes


def test_broker_restarts_on_its_kept_data_and_stop_removes_its_folder() -> None:
    """What chaos testing needs: a broker stopped or killed, then started on the same data."""
    from services.devtools.broker import start_broker

    broker = start_broker(keep_data=True)
    workdir, bootstrap = broker.workdir, broker.bootstrap
    meta = workdir / "logs" / "meta.properties"
    cluster_id = meta.read_text()
    settings = Settings(kafka_bootstrap=bootstrap)
    try:
        asyncio.run(ensure_topics(settings, (PAGES,)))
        asyncio.run(_send(settings, b"before-stop"))
        broker.stop()  # clean shutdown; keep_data keeps the folder
        assert meta.read_text() == cluster_id

        broker = start_broker(data_dir=workdir, keep_data=True)
        assert broker.bootstrap == bootstrap  # same port: clients reconnect by themselves
        asyncio.run(_send(settings, b"before-kill"))
        broker.kill()  # a crash: no clean shutdown
        assert broker.workdir.exists()

        broker = start_broker(data_dir=workdir)
        assert broker.bootstrap == bootstrap
        # Not formatted again: the same cluster, the records of both earlier lives.
        assert meta.read_text() == cluster_id
        values = asyncio.run(_read_values(settings, 2))
        assert set(values) == {b"before-stop", b"before-kill"}
    finally:
        broker.stop()
    assert not workdir.exists(), f"{workdir} outlived the broker's stop"


async def _send(settings: Settings, value: bytes) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        await prod.send_and_wait(PAGES.name, key=b"k", value=value)
    finally:
        await prod.stop()


async def _read_values(settings: Settings, count: int, timeout: float = 60.0) -> list[bytes]:
    cons = consumer(settings, enable_auto_commit=False, group_id=None)
    await cons.start()
    try:
        partitions = [TopicPartition(PAGES.name, p) for p in range(settings.kafka.topic_partitions)]
        cons.assign(partitions)
        await cons.seek_to_beginning(*partitions)
        values: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(values) < count and asyncio.get_running_loop().time() < deadline:
            batch = await cons.getmany(timeout_ms=500)
            values += [rec.value for recs in batch.values() for rec in recs if rec.value]
        return values
    finally:
        await cons.stop()


def test_broker_command_stops_kafka_and_removes_its_folder_on_sigterm() -> None:
    # `newswire broker start` under a supervisor or `kill`: the Java broker goes with it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "broker", "start"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the broker answers
        found = re.search(r"\(pid (\d+), log (\S+)\)", line)
        assert found, line
        java, folder = int(found.group(1)), Path(found.group(2)).parent
        assert folder.is_dir()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Path(f"/proc/{java}").exists():
        time.sleep(0.5)
    assert not Path(f"/proc/{java}").exists(), "the Kafka process outlived the command"
    assert not folder.exists()
