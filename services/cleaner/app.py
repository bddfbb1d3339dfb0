"""The cleaner's Faust app: newswire.pages -> newswire.articles."""

from __future__ import annotations

from functools import partial
from typing import Any

from services.cleaner.pipeline import STAGE, handle_page
from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.common.topics import PAGES


def build(settings: Settings) -> StageApp:
    sa = StageApp(STAGE, settings)
    handler = partial(handle_page, settings=settings)

    @sa.app.agent(sa.topic(PAGES.name), name="clean-pages")
    async def clean_pages(stream: Any) -> Any:
        async for event in stream.events():
            # Extraction is CPU work: offloaded so heartbeats keep flowing.
            await sa.send(await sa.handle(event, handler, offload=True))
            yield event.message.offset

    return sa
