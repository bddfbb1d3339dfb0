"""The enricher's Faust app: newswire.articles -> newswire.enriched."""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import Any

from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.common.topics import ARTICLES
from services.enricher import registry
from services.enricher.pipeline import STAGE, handle_article

log = logging.getLogger(__name__)


def build(settings: Settings) -> StageApp:
    registry.enabled(settings.enricher)  # a misspelt NEWSWIRE_ENRICHERS stops the worker here
    sa = StageApp(STAGE, settings)
    handler = partial(handle_article, config=settings.enricher)

    async def warm_up() -> None:
        # Models load once per process; in a thread, so heartbeats go on meanwhile,
        # and before the first article rather than on its clock.
        started = time.perf_counter()
        await asyncio.to_thread(registry.warm_up, settings.enricher)
        log.info("enricher models loaded in %.1fs", time.perf_counter() - started)

    sa.app.task(warm_up, on_leader=False)

    @sa.app.agent(sa.topic(ARTICLES.name), name="enrich-articles")
    async def enrich_articles(stream: Any) -> Any:
        async for event in stream.events():
            # NLP is CPU-bound: offloaded to a thread so the event loop keeps heartbeating.
            await sa.send(await sa.handle(event, handler, offload=True))
            yield event.message.offset

    return sa
