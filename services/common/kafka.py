"""Kafka helpers shared by every service: connection options, topic declaration, clients."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
)

from services.common.errors import ConfigError
from services.common.settings import Settings
from services.common.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno


def bootstrap(settings: Settings) -> str:
    if not settings.kafka.bootstrap:
        raise ConfigError("NEWSWIRE_KAFKA_BOOTSTRAP is not set (make run and the tests set it)")
    return settings.kafka.bootstrap


def client_options(settings: Settings) -> dict[str, Any]:
    """aiokafka connection options, SASL and TLS included."""
    opts: dict[str, Any] = {
        "bootstrap_servers": bootstrap(settings),
        "security_protocol": settings.kafka.security_protocol,
    }
    if settings.kafka.security_protocol in ("SSL", "SASL_SSL"):
        opts["ssl_context"] = ssl_context(settings)
    if settings.kafka.security_protocol.startswith("SASL"):
        if not (
            settings.kafka.sasl_mechanism
            and settings.kafka.sasl_username
            and settings.kafka.sasl_password
        ):
            raise ConfigError("SASL needs NEWSWIRE_KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD")
        opts["sasl_mechanism"] = settings.kafka.sasl_mechanism
        opts["sasl_plain_username"] = settings.kafka.sasl_username
        opts["sasl_plain_password"] = settings.kafka.sasl_password.get_secret_value()
    return opts


def ssl_context(settings: Settings) -> ssl.SSLContext:
    cafile = str(settings.kafka.ssl_cafile) if settings.kafka.ssl_cafile else None
    return ssl.create_default_context(cafile=cafile)


def faust_options(settings: Settings) -> dict[str, Any]:
    """faust.App keyword arguments for the broker connection."""
    import faust

    opts: dict[str, Any] = {
        "broker": f"kafka://{bootstrap(settings)}",
        "topic_replication_factor": settings.kafka.topic_replication_factor,
        "topic_partitions": settings.kafka.topic_partitions,
        "producer_max_request_size": settings.kafka.max_message_bytes,
        "producer_compression_type": "zstd",
        "consumer_max_fetch_size": settings.kafka.max_message_bytes,
        "processing_guarantee": settings.worker.processing_guarantee,
        "broker_session_timeout": settings.kafka.session_timeout_seconds,
        "broker_heartbeat_interval": max(1.0, settings.kafka.session_timeout_seconds / 10),
    }
    proto = settings.kafka.security_protocol
    if proto == "SSL":
        opts["broker_credentials"] = faust.SSLCredentials(ssl_context(settings))
    elif proto.startswith("SASL"):
        assert settings.kafka.sasl_password is not None
        opts["broker_credentials"] = faust.SASLCredentials(
            username=settings.kafka.sasl_username,
            password=settings.kafka.sasl_password.get_secret_value(),
            mechanism=settings.kafka.sasl_mechanism,
            ssl_context=ssl_context(settings) if proto == "SASL_SSL" else None,
        )
    return opts


async def cluster_metadata_ok(bootstrap_servers: str, timeout: float = 5.0) -> bool:
    """True once the cluster answers a metadata request with at least one broker."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000)
    )
    try:
        await admin.start()
        meta = await admin.describe_cluster()
        return bool(meta.get("brokers"))
    finally:
        await admin.close()


async def refusal_reason(settings: Settings) -> str | None:
    """Why the first bootstrap server refuses this client's TLS or SASL login, if it does."""
    opts = client_options(settings)
    host, _, port = bootstrap(settings).split(",")[0].strip().rpartition(":")
    try:
        conn = await create_conn(
            host,
            int(port),
            request_timeout_ms=10_000,
            ssl_context=opts.get("ssl_context"),
            security_protocol=settings.kafka.security_protocol,
            sasl_mechanism=opts.get("sasl_mechanism", "PLAIN"),
            sasl_plain_username=opts.get("sasl_plain_username"),
            sasl_plain_password=opts.get("sasl_plain_password"),
        )
    except SaslAuthenticationFailed as exc:
        # The broker's message names the mechanism, never the password.
        return (
            f"Kafka at {host}:{port} refused the {settings.kafka.sasl_mechanism} login of "
            f"user {settings.kafka.sasl_username!r}: {exc}"
        )
    except ssl.SSLError as exc:
        return (
            f"TLS with Kafka at {host}:{port} failed: {exc} (is NEWSWIRE_KAFKA_SSL_CAFILE "
            "the CA that signed the broker's certificate?)"
        )
    except (OSError, KafkaError):  # unreachable or timed out: not a refusal
        return None
    conn.close()
    return None


async def ensure_topics(settings: Settings, specs: tuple[TopicSpec, ...] = ALL_TOPICS) -> list[str]:
    """Create any missing topic with its contract's settings; return the names created."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
    except KafkaConnectionError as exc:
        await admin.close()
        # aiokafka logs why and raises only "Unable to bootstrap": a service that cannot
        # log in should stop saying so.
        reason = await refusal_reason(settings)
        if reason is None:
            raise
        raise ConfigError(reason) from exc
    try:
        existing = set(await admin.list_topics())
        await _check_partition_counts(
            admin,
            settings,
            [s for s in specs if isinstance(s.partitions, str) and s.name in existing],
        )
        new = [
            NewTopic(
                spec.name,
                spec.partition_count(settings),
                settings.kafka.topic_replication_factor,
                topic_configs=spec.topic_configs(settings.kafka.max_message_bytes),
            )
            for spec in specs
            if spec.name not in existing
        ]
        if not new:
            return []
        response = await admin.create_topics(new)
        created = []
        for name, code, message in response.topic_errors:
            # Another service may have created it between list and create: that is fine.
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise ConfigError(f"cannot create topic {name}: error {code} {message}")
            created.append(name)
        await _wait_for_leaders(admin, created)
        log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        await admin.close()


async def _check_partition_counts(
    admin: AIOKafkaAdminClient, settings: Settings, specs: list[TopicSpec]
) -> None:
    """Refuse to start when a topic whose partition count a setting gives has another
    count: for dedup's sequences the count is what splits the decisions, and a topic's
    partitions cannot be changed under running state (README, "Dedup past one core")."""
    if not specs:
        return
    described = await admin.describe_topics([s.name for s in specs])
    counts = {t["topic"]: len(t["partitions"]) for t in described}
    for spec in specs:
        want, have = spec.partition_count(settings), counts.get(spec.name)
        if have and have != want:
            raise ConfigError(
                f"topic {spec.name} has {have} partitions, NEWSWIRE_{str(spec.partitions).upper()}"
                f" says {want}: set it to {have}, or start dedup afresh on new topics"
            )


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """The partition ids of an existing topic (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        p["partition"] for t in described if t.get("error_code", 0) == 0 for p in t["partitions"]
    )


async def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """Partition -> the offset the next record of `topic` will get."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not tps:
        return {}
    reader = consumer(settings, enable_auto_commit=False, group_id=None)
    await reader.start()
    try:
        return {tp.partition: end for tp, end in (await reader.end_offsets(tps)).items()}
    finally:
        await reader.stop()


async def read_tail(
    settings: Settings, topic: str, starts: dict[int, int]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """The records of `topic` from `starts` (partition -> offset; a partition missing
    from it is read from its beginning) up to the partitions' ends when called."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not tps:
        return
    reader = consumer(settings, enable_auto_commit=False, group_id=None)
    await reader.start()
    try:
        reader.assign(tps)
        first = await reader.beginning_offsets(tps)
        last = await reader.end_offsets(tps)
        todo: dict[TopicPartition, int] = {}
        for tp in tps:
            start = max(starts.get(tp.partition, first[tp]), first[tp])
            if start < last[tp]:
                reader.seek(tp, start)
                todo[tp] = last[tp]
        while todo:
            batch = await reader.getmany(*todo, timeout_ms=1000)
            for records in batch.values():
                for rec in records:
                    yield rec
            for tp in list(todo):  # a compacted or aborted tail ends before the high mark
                if await reader.position(tp) >= todo[tp]:
                    del todo[tp]
    finally:
        await reader.stop()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], timeout: float = 30.0
) -> None:
    """Wait (bounded) until new topics have partition leaders, so first produces do not bounce."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        described = await admin.describe_topics(names)
        if all(
            t.get("error_code", 0) == 0
            and t.get("partitions")
            and all(p.get("leader", -1) >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.2)
    log.warning("topics %s still without leaders after %.0fs", names, timeout)


def producer(settings: Settings, **extra: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_options(settings),
        max_request_size=settings.kafka.max_message_bytes,
        compression_type="zstd",
        acks="all",
        **extra,
    )


def consumer(settings: Settings, *topics: str, **extra: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        **client_options(settings),
        fetch_max_bytes=settings.kafka.max_message_bytes * 2,
        max_partition_fetch_bytes=settings.kafka.max_message_bytes,
        **extra,
    )
