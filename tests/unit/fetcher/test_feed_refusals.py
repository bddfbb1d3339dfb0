"""An HTML page at a feed's address is a dead letter and a failing feed; an empty feed is
no failure (issue 13). The parsing side: parse/test_rss.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from services.common.models import DeadLetter, FeedPoll, FeedRecord, decode, encode
from services.common.settings import Settings
from services.common.topics import DLQ
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import load_state, poll_feed, register_feed
from tests.conftest import serve_locally


@dataclass
class Site:
    base: str = ""
    body: bytes = b""
    content_type: str = "application/rss+xml"
    table: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.base}/feed"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()

    async def feed(_: web.Request) -> web.Response:
        return web.Response(body=state.body, content_type=state.content_type)

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner, state.base = await serve_locally(app)
    register_feed(
        encode(FeedRecord(url=state.url)), key=state.url.encode(), partition=0, table=state.table
    )
    yield state
    await runner.cleanup()


async def _poll(site: Site) -> list[DeadLetter]:
    settings = Settings(allow_private_networks=True)
    client = HttpClient(settings)
    try:
        command = encode(FeedPoll(url=site.url, partition=0))
        outputs = await poll_feed(
            command, table=site.table, client=client, config=config_from(settings)
        )
    finally:
        await client.close()
    return [decode(DeadLetter, o.value) for o in outputs if o.topic == DLQ.name]


async def test_an_html_page_at_a_feed_address_is_dead_lettered_and_counted(site: Site) -> None:
    site.body, site.content_type = b"<html><body>Just a page.</body></html>", "text/html"
    [dead] = await _poll(site)
    assert dead.reason == "feed_parse" and "html" in dead.error
    state = load_state(site.table, site.url)
    assert state is not None and state.error_count == 1 and state.failing


async def test_an_empty_feed_is_no_failure(site: Site) -> None:
    site.body = b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    assert await _poll(site) == []
    state = load_state(site.table, site.url)
    assert state is not None and state.error_count == 0 and not state.failing
