"""poll_feed against odd feeds and odd timing, over a real HTTP server on 127.0.0.1:
one bad entry costs only itself, a body counts as seen only once its entries are out,
a feed removed during its poll stays removed, and copies of a command poll once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from services.common.models import DeadLetter, Entry, FeedPoll, FeedRecord, decode, encode
from services.common.runtime.fenced import FencedTable
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import DLQ, ENTRIES
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import load_state, poll_feed, register_feed
from tests.conftest import serve_locally

SETTINGS = Settings(allow_private_networks=True, seen_entries_per_feed=5)


@dataclass
class Site:
    base: str = ""
    body: bytes = b""
    content_type: str = "application/feed+json"
    hits: int = 0
    on_hit: Callable[[], object] | None = None
    table: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.base}/feed"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()

    async def feed(_: web.Request) -> web.Response:
        state.hits += 1
        if state.on_hit is not None:
            state.on_hit()  # what another agent does while this poll awaits the answer
        return web.Response(body=state.body, content_type=state.content_type)

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner, state.base = await serve_locally(app)
    register_feed(
        encode(FeedRecord(url=state.url)), key=state.url.encode(), partition=0, table=state.table
    )
    yield state
    await runner.cleanup()


async def poll(site: Site, command: bytes | None = None) -> list[Output]:
    client = HttpClient(SETTINGS)
    try:
        command = command or encode(FeedPoll(url=site.url, partition=0))
        return await poll_feed(
            command, table=site.table, client=client, config=config_from(SETTINGS)
        )
    finally:
        await client.close()


def json_feed(*items: dict[str, str]) -> bytes:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": list(items)}
    return json.dumps(doc).encode()


def links(outputs: list[Output]) -> list[str]:
    return [decode(Entry, o.value).link for o in outputs if o.topic == ENTRIES.name]


async def test_one_bad_entry_costs_only_itself(site: Site) -> None:
    site.body = (
        json_feed(
            {"id": "good", "url": "https://news.example/good"},
            {"id": "port", "url": "https://news.example:99999/a"},  # not a port: skipped
            {
                "id": "old",
                "url": "https://news.example/old",
                "date_published": "0001-01-01T00:00:00+01:00",
            },
        )[:-2]
        + b',{"id":"sur","url":"https://news.example/s","title":"a\\ud800b"}]}'
    )
    first = await poll(site)
    assert links(first) == ["https://news.example/good", "https://news.example/old"]
    [dead] = [decode(DeadLetter, o.value) for o in first if o.topic == DLQ.name]
    assert "'sur'" in dead.error and dead.reason == "feed_parse"
    state = load_state(site.table, site.url)
    assert state is not None and state.error_count == 0 and state.body_digest
    # The same body again: recognised, nothing emitted twice.
    assert await poll(site) == []


async def test_a_body_that_fails_is_not_remembered_as_seen(site: Site) -> None:
    site.body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [oops'
    [dead] = await poll(site)
    assert dead.topic == DLQ.name
    state = load_state(site.table, site.url)
    assert state is not None and state.body_digest is None and state.error_count == 1
    # Fixed by the publisher: the same validators-less server now gives the entries.
    site.body = json_feed({"id": "a", "url": "https://news.example/a"})
    assert links(await poll(site)) == ["https://news.example/a"]


async def test_a_feed_removed_during_its_poll_stays_removed(site: Site) -> None:
    site.body = json_feed({"id": "a", "url": "https://news.example/a"})
    site.on_hit = lambda: register_feed(None, key=site.url.encode(), partition=0, table=site.table)
    assert await poll(site) == []
    assert site.url not in site.table


async def test_a_title_set_during_a_poll_is_kept(site: Site) -> None:
    site.body = json_feed({"id": "a", "url": "https://news.example/a"})
    record = encode(FeedRecord(url=site.url, title="Renamed"))
    site.on_hit = lambda: register_feed(
        record, key=site.url.encode(), partition=0, table=site.table
    )
    assert links(await poll(site)) == ["https://news.example/a"]
    state = load_state(site.table, site.url)
    assert state is not None and state.title == "Renamed" and state.seen == ["a"]


async def test_copies_of_a_poll_command_poll_once(site: Site) -> None:
    site.body = json_feed({"id": "a", "url": "https://news.example/a"})
    command = encode(FeedPoll(url=site.url, partition=0))
    assert links(await poll(site, command)) == ["https://news.example/a"]
    assert await poll(site, command) == []  # the scheduler's re-send of the same poll
    assert site.hits == 1
    await poll(site)  # a command sent after that poll: a real one
    assert site.hits == 2


async def test_entries_still_in_a_long_feed_are_never_forgotten(site: Site) -> None:
    # More entries than seen_entries_per_feed (5): a sitemap of thousands of URLs.
    site.body = json_feed(*({"id": f"i{n}", "url": f"https://news.example/{n}"} for n in range(8)))
    assert len(links(await poll(site))) == 8
    site.body = json_feed(*({"id": f"i{n}", "url": f"https://news.example/{n}"} for n in range(9)))
    assert links(await poll(site)) == ["https://news.example/8"]


async def test_a_first_body_of_undated_entries_is_not_a_burst_of_publishing(site: Site) -> None:
    site.body = json_feed(*({"id": f"i{n}", "url": f"https://news.example/{n}"} for n in range(20)))
    assert len(links(await poll(site))) == 20
    state = load_state(site.table, site.url)
    # Its backlog, found at once: no publication times, so no minute-by-minute polling.
    assert state is not None and state.entry_times == []
    site.body = json_feed(*({"id": f"i{n}", "url": f"https://news.example/{n}"} for n in range(21)))
    assert len(links(await poll(site))) == 1
    state = load_state(site.table, site.url)
    assert state is not None and len(state.entry_times) == 1  # found now: a fair guess


async def test_a_poll_whose_partition_was_revoked_writes_nothing(site: Site) -> None:
    site.body = json_feed({"id": "a", "url": "https://news.example/a"})
    before = dict(site.table)
    owned = [True]
    site.on_hit = lambda: owned.__setitem__(0, False)  # revoked while the GET was out
    fenced = FencedTable(site.table, lambda: owned[0])
    client = HttpClient(SETTINGS)
    try:
        command = encode(FeedPoll(url=site.url, partition=0))
        assert (
            await poll_feed(command, table=fenced, client=client, config=config_from(SETTINGS))
            == []
        )
    finally:
        await client.close()
    assert site.table == before  # the new owner's to poll and to write
