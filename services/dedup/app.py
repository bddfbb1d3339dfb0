"""Dedup's Faust app: newswire.enriched -> (by content hash) -> newswire.stories."""

from __future__ import annotations

from functools import partial
from typing import Any

from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.common.topics import DEDUP_BY_HASH, ENRICHED
from services.dedup.pipeline import STAGE, decide_story, route


def build(settings: Settings) -> StageApp:
    sa = StageApp(STAGE, settings)
    # Keyed by content hash and co-partitioned with newswire.dedup-by-hash, so each
    # hash has exactly one owner however many dedup workers run. Changelogged: a
    # restarted worker recovers it before it takes records again.
    first_by_hash = sa.app.Table(
        "first-by-hash",
        key_type=str,
        value_type=str,
        partitions=settings.topic_partitions,
    )

    @sa.app.agent(sa.topic(ENRICHED.name), name="route-by-hash")
    async def route_by_hash(stream: Any) -> Any:
        async for event in stream.events():
            # Counted out when decided: the hop through dedup-by-hash is internal.
            await sa.send(await sa.handle(event, route), counted=False)
            yield event.message.offset

    decide = partial(decide_story, first_by_hash=first_by_hash)

    @sa.app.agent(sa.topic(DEDUP_BY_HASH.name), name="decide-stories")
    async def decide_stories(stream: Any) -> Any:
        async for event in stream.events():
            await sa.send(await sa.handle(event, decide, counted=False))
            yield event.message.offset

    return sa
