"""Reading the story records of chosen articles from `newswire.stories`, for the
integration tests that drive the live services (backfill, reprocess)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aiokafka import TopicPartition

from services.common.kafka import consumer
from services.common.settings import Settings
from services.common.topics import STORIES

WAIT_S = 600.0

Stories = dict[str, list[dict[str, Any]]]


async def read_stories(
    settings: Settings, ids: set[str], done: Callable[[Stories], bool], alive: Callable[[], None]
) -> Stories:
    """newswire.stories records of `ids`, read until `done` says so (or WAIT_S), then to
    the topic's end, so any further record of them is seen too."""
    found: Stories = {}
    cons = consumer(settings, enable_auto_commit=False, group_id=None)
    await cons.start()
    try:
        deadline = time.monotonic() + WAIT_S
        parts = cons.partitions_for_topic(STORIES.name)
        while not parts and time.monotonic() < deadline:
            await cons._client.force_metadata_update()
            parts = cons.partitions_for_topic(STORIES.name)
        tps = [TopicPartition(STORIES.name, p) for p in sorted(parts or ())]
        cons.assign(tps)
        await cons.seek_to_beginning(*tps)
        ends: dict[TopicPartition, int] | None = None
        while time.monotonic() < deadline:
            if ends is None and done(found):
                ends = await cons.end_offsets(tps)
            if ends is not None and all([await cons.position(tp) >= ends[tp] for tp in tps]):
                break
            alive()
            for records in (await cons.getmany(timeout_ms=500)).values():
                for rec in records:
                    try:
                        value = json.loads(rec.value or b"null")
                    except ValueError:  # other tests' deliberately broken records
                        continue
                    if isinstance(value, dict) and value.get("article_id") in ids:
                        found.setdefault(value["article_id"], []).append(value)
    finally:
        await cons.stop()
    return found
