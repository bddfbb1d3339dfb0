"""exactly_once on a real broker: the cleaner and the enricher as processes, pages in,
enriched articles out, each once for a read-committed consumer, through SIGKILLs too.

The services' group ids are fixed (newswire-cleaner, newswire-enricher), so this test's
records are told apart by a run prefix in their keys.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter

from services.common.kafka import consumer
from services.common.settings import Settings
from services.common.topicread import _partitions
from services.devtools.stack import Stack
from tests.conftest import validate_record
from tests.integration.test_cleaner_worker import make_pages, produce

EOS = {"NEWSWIRE_PROCESSING_GUARANTEE": "exactly_once"}
FIRST = 5
# Enough enrichment work (~0.1-0.2 s an article) that a kill lands mid-stream.
SECOND = 300
DEADLINE_S = 600.0


async def _committed_keys(settings: Settings, topic: str, prefix: str) -> list[str]:
    """Keys starting with `prefix` of every committed record now in `topic` (read_committed,
    up to each partition's last stable offset)."""
    cons = consumer(
        settings, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    await cons.start()
    try:
        partitions = await _partitions(cons, topic, time.monotonic() + 60)
        cons.assign(partitions)
        await cons.seek_to_beginning(*partitions)
        ends = await cons.end_offsets(partitions)  # the last stable offsets here
        keys: list[str] = []
        while [tp for tp in partitions if await cons.position(tp) < ends[tp]]:
            batch = await cons.getmany(timeout_ms=1000)
            for records in batch.values():
                for rec in records:
                    key = rec.key.decode() if rec.key is not None else ""
                    if key.startswith(prefix):
                        if topic == "newswire.enriched":
                            validate_record(topic, _json(rec.value))
                        keys.append(key)
        return keys
    finally:
        await cons.stop()


def _json(raw: bytes | None) -> object:
    import json

    return json.loads(raw) if raw is not None else None


def committed_keys(settings: Settings, topic: str, prefix: str) -> list[str]:
    return asyncio.run(_committed_keys(settings, topic, prefix))


def _alive(stack: Stack, *names: str) -> None:
    for name in names:
        proc = stack.procs[name]
        assert proc.alive(), f"{name} exited:\n" + proc.log.read_text()[-3000:]


def wait_for(stack: Stack, settings: Settings, topic: str, prefix: str, enough: int) -> list[str]:
    """Wait (event-based, long deadline) until `enough` distinct keys are committed."""
    deadline = time.monotonic() + DEADLINE_S
    keys: list[str] = []
    while time.monotonic() < deadline:
        _alive(stack, "cleaner", "enricher")
        keys = committed_keys(settings, topic, prefix)
        if len(set(keys)) >= enough:
            return keys
        time.sleep(0.5)
    raise AssertionError(f"{len(set(keys))} of {enough} {topic} records after {DEADLINE_S:.0f}s")


def duplicates(keys: list[str]) -> dict[str, int]:
    return {key: n for key, n in Counter(keys).items() if n > 1}


def test_exactly_once_through_sigkills(stack: Stack, kafka_settings: Settings) -> None:
    run = uuid.uuid4().hex[:8]
    pages = make_pages(run)
    assert len(pages) >= FIRST + SECOND
    first, second = pages[:FIRST], pages[FIRST : FIRST + SECOND]
    stack.start_service("cleaner", EOS)
    stack.start_service("enricher", EOS)

    # Both start (the enricher used to crash on its first rebalance) and produce.
    asyncio.run(produce(kafka_settings, first))
    keys = wait_for(stack, kafka_settings, "newswire.enriched", run, FIRST)
    assert sorted(keys) == sorted(p.article_id for p in first), duplicates(keys)
    # Transactional outputs: the cleaner's articles were committed, each once, too.
    articles = committed_keys(kafka_settings, "newswire.articles", run)
    assert sorted(articles) == sorted(p.article_id for p in first), duplicates(articles)

    # SIGKILL the cleaner while it cleans, then the enricher while it enriches.
    asyncio.run(produce(kafka_settings, second))
    expected = {p.article_id for p in first + second}
    done = set(wait_for(stack, kafka_settings, "newswire.articles", run, FIRST + 1))
    stack.stop_service("cleaner", sig=signal.SIGKILL)
    assert len(done) < len(expected), "the cleaner was too fast to be killed mid-stream"
    stack.start_service("cleaner", EOS)

    done = set(wait_for(stack, kafka_settings, "newswire.enriched", run, len(done) + 1))
    stack.stop_service("enricher", sig=signal.SIGKILL)
    assert len(done) < len(expected), "the enricher was too fast to be killed mid-stream"
    stack.start_service("enricher", EOS)

    wait_for(stack, kafka_settings, "newswire.enriched", run, len(expected))
    # A clean stop commits or aborts every open transaction: nothing more can appear.
    assert stack.stop_service("cleaner", sig=signal.SIGTERM, timeout=60) == 0
    assert stack.stop_service("enricher", sig=signal.SIGTERM, timeout=60) == 0

    articles = committed_keys(kafka_settings, "newswire.articles", run)
    enriched = committed_keys(kafka_settings, "newswire.enriched", run)
    assert set(articles) == expected and set(enriched) == expected
    assert duplicates(articles) == {}, "articles duplicated for a read-committed consumer"
    assert duplicates(enriched) == {}, "enriched duplicated for a read-committed consumer"
    assert len(enriched) == len(expected)
