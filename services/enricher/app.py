"""The enricher's Faust app: newswire.articles -> newswire.enriched."""

from __future__ import annotations

from functools import partial
from typing import Any

from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.common.topics import ARTICLES
from services.enricher.pipeline import STAGE, handle_article


def build(settings: Settings) -> StageApp:
    sa = StageApp(STAGE, settings)
    handler = partial(handle_article, settings=settings)

    @sa.app.agent(sa.topic(ARTICLES.name), name="enrich-articles")
    async def enrich_articles(stream: Any) -> Any:
        async for event in stream.events():
            await sa.send(await sa.handle(event, handler, offload=True))
            yield event.message.offset

    return sa
