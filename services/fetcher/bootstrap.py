"""Seed the compacted newswire.feeds topic from the feeds file at start-up."""

from __future__ import annotations

import logging

from services.common.kafka import ensure_topics, producer
from services.common.models import FeedRecord, encode
from services.common.settings import Settings
from services.common.topics import FEEDS
from services.fetcher.state.registry import load_feeds_file

log = logging.getLogger(__name__)


async def publish_feeds(settings: Settings, records: list[FeedRecord]) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        for record in records:
            await prod.send_and_wait(FEEDS.name, key=record.url.encode(), value=encode(record))
    finally:
        await prod.stop()


async def remove_feed(settings: Settings, url: str) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        await prod.send_and_wait(FEEDS.name, key=url.encode(), value=None)
    finally:
        await prod.stop()


async def bootstrap_feeds(settings: Settings) -> int:
    """Publish every feed of the feeds file (re-publishing a known feed changes nothing)."""
    if not settings.fetcher.feeds_file.exists():
        log.info(
            "no feeds file at %s; only newswire.feeds decides what is polled",
            settings.fetcher.feeds_file,
        )
        return 0
    await ensure_topics(settings)
    records = load_feeds_file(settings.fetcher.feeds_file, settings.fetcher.seeds_url)
    await publish_feeds(settings, records)
    log.info("bootstrapped %d feeds from %s", len(records), settings.fetcher.feeds_file)
    return len(records)
