"""The fetcher's side of issue 13: a poll's state is written only after its entries are
out. (A stop finishing the pages in work: net/test_lanes.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from services.common.models import FeedPoll, FeedRecord, encode
from services.common.settings import Settings
from services.common.stage import Source
from services.common.topics import ENTRIES, FEED_POLLS
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import fetcher_stage, load_state, plan_poll, register_feed
from tests.conftest import serve_locally

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>{base}/a/1.html</link><guid>g1</guid></item>
<item><title>Two</title><link>{base}/a/2.html</link><guid>g2</guid></item>
</channel></rss>"""


@pytest.fixture
async def feed_base() -> AsyncIterator[str]:
    base = ""

    async def feed(_: web.Request) -> web.Response:
        return web.Response(text=RSS.format(base=base), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    runner, base = await serve_locally(app)
    yield base
    await runner.cleanup()


async def test_a_poll_writes_its_state_only_when_saved(feed_base: str) -> None:
    settings = Settings(allow_private_networks=True)
    table: dict[str, str] = {}
    url = f"{feed_base}/feed.xml"
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    registered = table[url]
    client = HttpClient(settings)
    try:
        command = encode(FeedPoll(url=url, partition=0))
        polled = await plan_poll(command, table=table, client=client, config=config_from(settings))
    finally:
        await client.close()
    outputs = fetcher_stage().settle(
        Source(FEED_POLLS.name, 0, None, None), command, polled.outcome
    )
    assert [o.topic for o in outputs] == [ENTRIES.name, ENTRIES.name]
    # Planned, not saved: a process dying now has not marked the entries seen.
    assert table[url] == registered
    polled.save()
    state = load_state(table, url)
    assert state is not None and set(state.seen) == {"g1", "g2"}


async def test_a_save_after_the_feed_was_removed_does_not_bring_it_back(feed_base: str) -> None:
    settings = Settings(allow_private_networks=True)
    table: dict[str, str] = {}
    url = f"{feed_base}/feed.xml"
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    client = HttpClient(settings)
    try:
        command = encode(FeedPoll(url=url, partition=0))
        polled = await plan_poll(command, table=table, client=client, config=config_from(settings))
    finally:
        await client.close()
    register_feed(None, key=url.encode(), partition=0, table=table)  # removed meanwhile
    polled.save()
    assert url not in table
