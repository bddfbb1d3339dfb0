"""`newswire status`: the pipeline on one screen, from the services' endpoints and the
cluster, nothing else.

Where the services are: `--service name=URL` (repeatable), else
NEWSWIRE_STATUS_SERVICES ("fetcher=http://fetcher:8001,cleaner=..."), else the file
`newswire run` writes beside its logs (the local stack's random ports). Figures from
the cluster: each service's consumer-group lag per input topic, and the records each
stage's output topic (and the DLQ) took in the last minute, counted from the brokers'
record timestamps (offsets_for_times), so one look needs no second sample.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.common.kafka import client_options, consumer, partitions_of
from services.common.settings import Settings
from services.ops.statusview import (
    DLQ_TOPIC,
    INPUTS,
    OUTPUTS,
    STAGES,
    Cluster,
    Probe,
    render,
    summarize,
)

TIMEOUT_S = 5.0
WINDOW_MS = 60_000


def services_from(pairs: list[str], settings: Settings, stack_file: Path) -> dict[str, str]:
    """name -> base URL, from the command line, the setting or `newswire run`'s file."""
    listed = pairs or [p for p in settings.http.status_services.split(",") if p.strip()]
    if not listed and stack_file.exists():
        return dict(json.loads(stack_file.read_text()).get("services", {}))
    out = {}
    for pair in listed:
        name, sep, url = pair.strip().partition("=")
        if not sep or not url:
            raise ValueError(f"--service wants name=URL, not {pair!r}")
        out[name.strip()] = url.strip().rstrip("/")
    return out


async def probe(session: aiohttp.ClientSession, name: str, base: str, token: str | None) -> Probe:
    result = Probe(name, base)
    try:
        async with session.get(f"{base}/healthz") as resp:
            result.healthy = resp.status == 200
        async with session.get(f"{base}/readyz") as resp:
            result.ready = resp.status == 200
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with session.get(f"{base}/metrics", headers=headers) as resp:
            if resp.status == 200:
                result.metrics = await resp.text()
            else:
                result.error = f"/metrics answered {resp.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        result.error = f"unreachable: {exc.__class__.__name__}"
    return result


async def read_cluster(settings: Settings) -> Cluster:
    cluster = Cluster()
    topics = sorted({t for s in STAGES for t in INPUTS[s]} | set(OUTPUTS.values()) | {DLQ_TOPIC})
    reader = consumer(settings, enable_auto_commit=False, group_id=None)
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await reader.start()
        await admin.start()
        tps = [TopicPartition(t, p) for t in topics for p in await partitions_of(settings, t)]
        ends = await reader.end_offsets(tps)
        since = int(time.time() * 1000) - WINDOW_MS
        found = await reader.offsets_for_times({tp: since for tp in tps})
        for tp in tps:
            start = found.get(tp)
            recent = ends[tp] - start.offset if start is not None else 0
            cluster.last_minute[tp.topic] = cluster.last_minute.get(tp.topic, 0) + recent
        for stage in STAGES:
            group = f"newswire-{stage}"
            committed = await admin.list_consumer_group_offsets(group)
            lag: dict[str, int] = {}
            for tp, meta in committed.items():
                if tp.topic in INPUTS[stage] and tp in ends and meta.offset >= 0:
                    lag[tp.topic] = lag.get(tp.topic, 0) + max(0, ends[tp] - meta.offset)
            cluster.lag[group] = lag
    except Exception as exc:  # a status screen reports a broken cluster, it does not crash
        cluster.error = f"{exc.__class__.__name__}: {exc}"
    finally:
        await reader.stop()
        await admin.close()
    return cluster


async def gather(settings: Settings, services: dict[str, str]) -> dict[str, Any]:
    token = settings.http.metrics_token.get_secret_value() if settings.http.metrics_token else None
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        probes = await asyncio.gather(
            *(probe(session, name, url, token) for name, url in services.items())
        )
    cluster = await asyncio.wait_for(read_cluster(settings), TIMEOUT_S * 4)
    return summarize(list(probes), cluster)


def main(
    settings: Settings, services: dict[str, str], *, as_json: bool, watch: float | None
) -> int:
    while True:
        status = asyncio.run(gather(settings, services))
        if as_json:
            sys.stdout.write(json.dumps(status) + "\n")
        else:
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            screen = render(status, now=now)
            # In place on a terminal: home, clear, draw.
            prefix = "\x1b[H\x1b[2J" if watch and sys.stdout.isatty() else ""
            sys.stdout.write(prefix + screen + "\n")
        sys.stdout.flush()
        if not watch:
            return 0 if status["healthy"] else 1
        time.sleep(watch)
