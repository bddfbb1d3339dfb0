"""The cleaner's Faust app: newswire.pages -> newswire.articles."""

from __future__ import annotations

from functools import partial
from typing import Any

from services.cleaner.pipeline import STAGE, handle_page
from services.cleaner.workers import shared_pool
from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.common.topics import PAGES


def build(settings: Settings) -> StageApp:
    sa = StageApp(STAGE, settings)
    # Learned template lines per host. Pages sit in their host's partition (the
    # fetcher puts them there), so one worker owns each host's profile.
    sites = sa.app.Table(
        "site-lines", key_type=str, value_type=str, partitions=settings.kafka.topic_partitions
    )
    handler = partial(handle_page, config=settings.cleaner, sites=sites)

    async def close_pool() -> None:
        # A page stuck in an extraction process must not hold up the worker's exit.
        shared_pool(settings.cleaner.workers).close()

    sa.on_shutdown(close_pool)

    @sa.app.agent(sa.topic(PAGES.name), name="clean-pages")
    async def clean_pages(stream: Any) -> Any:
        async for event in stream.events():
            await sa.send(await sa.handle(event, handler))
            yield event.message.offset

    return sa
