"""The fetcher's steps (pipeline): polls emit new entries once, back off when failing,
forget removed feeds; pages keep their canonical link; unsupported pages are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from services.common import metrics
from services.common.errors import FetchError
from services.common.models import DeadLetter, Entry, FeedPoll, FeedRecord, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import DLQ, ENTRIES, PAGES
from services.devtools import seedserver
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.net.politeness import HostGate
from services.fetcher.pipeline import (
    canonical_link,
    fetch_page,
    load_state,
    poll_feed,
    register_feed,
)
from services.fetcher.state.feedstate import FeedState
from tests.conftest import SEEDS, serve_locally
from tests.unit.fetcher.feedstates import big_seen, feed_state


@pytest.fixture
async def feed_server() -> AsyncIterator[str]:
    """One RSS feed with an ETag, answering 304 to it."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        + "".join(
            f"<item><title>Story {i}</title><link>https://news.example/{i}/story.html</link>"
            f"<guid>https://news.example/{i}/story.html</guid></item>"
            for i in (398, 399, 400, 401)
        )
        + "</channel></rss>"
    ).encode()

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    runner, base = await serve_locally(app)
    yield f"{base}/feed.xml"
    await runner.cleanup()


async def test_polls_keep_a_long_seen_list_whole(feed_server: str) -> None:
    settings_ = Settings(allow_private_networks=True)
    table = {
        feed_server: feed_state(big_seen())
        .model_copy(update={"url": feed_server, "etag": None})
        .model_dump_json()
    }
    client = HttpClient(settings_)

    async def poll() -> list[Output]:
        command = encode(FeedPoll(url=feed_server, partition=1))
        return await poll_feed(command, table=table, client=client, config=config_from(settings_))

    try:
        first = await poll()
        assert [decode(Entry, o.value).link for o in first] == [
            "https://news.example/400/story.html",
            "https://news.example/401/story.html",
        ]
        after_new = table[feed_server]
        assert await poll() == []
        after_304 = table[feed_server]
    finally:
        await client.close()
    seen = [
        *big_seen(),
        "https://news.example/400/story.html",
        "https://news.example/401/story.html",
    ]
    assert FeedState.model_validate_json(after_new).seen == seen
    state = FeedState.model_validate_json(after_304)  # as `newswire feeds` reads it
    assert state.seen == seen and state.not_modified_streak == 1 and state.last_status == 304
    assert after_304.endswith(after_new[after_new.index(',"seen":') :])


@pytest.fixture
def settings() -> Settings:
    return Settings(
        allow_private_networks=True, fetch_max_bytes=200_000, poll_min_interval_seconds=1
    )


@pytest.fixture
async def seeds_base() -> AsyncIterator[str]:
    runner, base = await seedserver.start(SEEDS)
    yield base
    await runner.cleanup()


async def test_page_of_unsupported_type_is_refused(settings: Settings, odd_server: str) -> None:
    client = HttpClient(settings)
    entry = Entry(entry_id="e", feed_url="f", link=f"{odd_server}/doc.pdf")
    try:
        with pytest.raises(FetchError) as refused:
            await fetch_page(encode(entry), client=client)
        assert refused.value.reason == "content_type"
    finally:
        await client.close()


async def test_poll_emits_new_entries_once_then_nothing(
    settings: Settings, seeds_base: str
) -> None:
    table: dict[str, str] = {}
    url = f"{seeds_base}/feeds/newsofwar.xml"
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=2, table=table)
    client = HttpClient(settings)

    async def poll() -> list[Output]:
        command = encode(FeedPoll(url=url, partition=2))
        return await poll_feed(command, table=table, client=client, config=config_from(settings))

    try:
        first = await poll()
        assert [o.topic for o in first] == [ENTRIES.name]
        entry = decode(Entry, first[0].value)
        assert first[0].key == seeds_base.removeprefix("http://").encode()  # keyed by host
        state = load_state(table, url)
        assert state is not None and state.etag and state.seen == [entry.entry_id]
        assert state.partition == 2

        # Unchanged feed: the server answers 304 to our validators, nothing is emitted.
        assert await poll() == []
        # Validators lost (a 200 again) and the same body: recognised by its digest,
        # not even parsed, nothing emitted.
        state = load_state(table, url)
        assert state is not None
        unchanged_before = metrics.FETCH_UNCHANGED._value.get()
        table[url] = state.model_copy(
            update={"etag": None, "last_modified": None}
        ).model_dump_json()
        assert await poll() == []
        assert metrics.FETCH_UNCHANGED._value.get() == unchanged_before + 1
        # Parsed again (digest forgotten): the entry is still known, nothing is emitted.
        state = load_state(table, url)
        assert state is not None
        table[url] = state.model_copy(
            update={"etag": None, "last_modified": None, "body_digest": None}
        ).model_dump_json()
        assert await poll() == []

        [page_out] = await fetch_page(first[0].value, client=client)
        page = decode(Page, page_out.value)
        assert page_out.topic == PAGES.name and page.status == 200
        assert "utm_source" not in page.article_id and page.charset == "utf-8"
        assert "News of War Staff Writer" in page.body and "${SEEDS_URL}" not in page.body
        assert page.trace.fetched_at is not None
    finally:
        await client.close()


async def test_failing_feed_backs_off_and_keeps_its_state(
    settings: Settings, odd_server: str
) -> None:
    table: dict[str, str] = {}
    url = f"{odd_server}/missing"
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    client = HttpClient(settings)
    errors = metrics.FEED_POLL_ERRORS.labels("http_status")
    dead_letters = metrics.DLQ_RECORDS.labels("fetcher", "http_status")
    failed = metrics.RECORDS_FAILED.labels("fetcher", "http_status")
    try:
        for expected_errors in (1, 2):
            before = errors._value.get(), dead_letters._value.get(), failed._value.get()
            [dead] = await poll_feed(
                encode(FeedPoll(url=url, partition=0)),
                table=table,
                client=client,
                config=config_from(settings),
            )
            assert dead.topic == DLQ.name and dead.key == url.encode()
            letter = decode(DeadLetter, dead.value)
            assert (letter.stage, letter.reason) == ("fetcher", "http_status")
            state = load_state(table, url)
            assert state is not None and state.error_count == expected_errors
            assert state.last_error and "http_status" in state.last_error
            # A poll error and its dead letter; not a failed record (the poll is the
            # stage's internal step).
            after = errors._value.get(), dead_letters._value.get(), failed._value.get()
            assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 0]
    finally:
        await client.close()


def test_removing_a_feed_drops_its_state() -> None:
    table: dict[str, str] = {}
    register_feed(encode(FeedRecord(url="http://a/f")), key=b"http://a/f", partition=0, table=table)
    assert "http://a/f" in table
    register_feed(None, key=b"http://a/f", partition=0, table=table)
    assert table == {}


def test_a_malformed_canonical_hint_is_skipped_not_fatal() -> None:
    html = '<link rel="canonical" href="http://[broken/x"><link rel="canonical" href="/story">'
    assert canonical_link(html, "https://news.example/a?utm=1") == "https://news.example/story"


async def test_page_keeps_its_canonical_link(site: tuple[str, dict[str, int]]) -> None:
    base, _ = site
    client = HttpClient(Settings(allow_private_networks=True))
    try:
        entry = Entry(entry_id="e", feed_url="f", link=f"{base}/news/2?utm_source=x")
        [out] = await fetch_page(encode(entry), client=client, gate=HostGate(0.0))
        assert decode(Page, out.value).canonical_url == f"{base}/canon/1"
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<link rel="canonical" href="https://a.example/x">', "https://a.example/x"),
        ("<LINK HREF='/y' REL='Canonical'>", "https://b.example/y"),
        ('<link rel="alternate" href="/feed">', None),
        ('<link rel="canonical" href="javascript:alert(1)">', None),
    ],
)
def test_canonical_link(html: str, expected: str | None) -> None:
    assert canonical_link(html, "https://b.example/page") == expected
