"""Dedup's Faust app: newswire.enriched -> newswire.dedup-sequence -> newswire.stories.

Why one sequence (one partition) rather than a hop per lookup key: a verdict and a
story id depend on every earlier decision. A duplicate takes the story of its
original, which may itself still be in flight through another partition; a story's
centroid moves with each article it takes. Split across partitions, the same input
would get different stories depending on timing. In one ordered sequence the
engine's decisions are a function of the input order alone, so one worker and two
agree, and a worker that takes over after a crash carries on from the changelogs.
Measured here, one worker on the local broker: ~350 articles/s when most are
duplicates, but only ~40/s when most are new, about the world's average news rate
(ARCHITECTURE.md: 30-50/s, peaks 10x): a new article updates ~220 document-frequency
counters (the `terms` store), and each table write is a changelog record. Fewer,
batched writes of those counters are the next step. The engine's state is
split by lookup key (articles by URL id, hashes, LSH bands, story keys), one table
each, so the lookups can move into partitioned hops later without a new engine.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from services.common import metrics
from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.common.topics import DEDUP_SEQUENCE, ENRICHED
from services.dedup.config import config_from
from services.dedup.engine import Deduper, DedupStores
from services.dedup.pipeline import STAGE, decide_story, route

# Stores whose values are packed bytes (lsh.py); the others hold JSON or text.
BYTES_STORES = ("bands", "sketches")


def build(settings: Settings) -> StageApp:
    sa = StageApp(STAGE, settings)

    def table(name: str) -> Any:
        # Changelogged tables on the sequence's one partition, persisted in RocksDB so a
        # restart replays only the changelog's tail.
        return sa.app.Table(
            f"dedup-{name}",
            key_type=str,
            value_type=bytes if name in BYTES_STORES else str,
            partitions=DEDUP_SEQUENCE.partitions,
            store=settings.dedup_store,
        )

    stores = DedupStores(**{name: table(name) for name in DedupStores.__dataclass_fields__})
    deduper = Deduper(stores, config_from(settings))
    swept_hour: list[int] = []

    def sweep_hourly(now: datetime) -> None:
        """Forget what left the retention window, once per hour of article time.

        Reads already ignore expired entries, so when the sweep runs never changes a
        verdict; it keeps the tables (and the changelogs, by tombstones) bounded.
        """
        hour = int(now.timestamp() // 3600)
        if swept_hour and hour <= swept_hour[0]:
            return
        swept_hour[:] = [hour]
        metrics.DEDUP_EVICTIONS.inc(deduper.sweep(now))
        for name in DedupStores.__dataclass_fields__:
            metrics.DEDUP_INDEX_ENTRIES.labels(name).set(len(getattr(stores, name)))
        metrics.DEDUP_OPEN_STORIES.set(len(stores.stories))

    decide = partial(decide_story, deduper=deduper, before=sweep_hourly)

    @sa.app.agent(sa.topic(ENRICHED.name), name="route-articles")
    async def route_articles(stream: Any) -> Any:
        async for event in stream.events():
            # Counted out when decided: the hop through the sequence is internal.
            await sa.send(await sa.handle(event, route), counted=False)
            yield event.message.offset

    @sa.app.agent(sa.topic(DEDUP_SEQUENCE.name), name="decide-stories")
    async def decide_stories(stream: Any) -> Any:
        async for event in stream.events():
            outputs = await sa.handle(event, decide, counted=False)
            await sa.send(outputs)
            yield event.message.offset

    return sa
