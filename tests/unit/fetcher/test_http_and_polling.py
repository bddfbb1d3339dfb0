"""The fetcher's HTTP side against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from services.common import metrics
from services.common.errors import BlockedAddressError, FetchError, HttpStatusError, TooLargeError
from services.common.models import DeadLetter, Entry, FeedPoll, FeedRecord, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import DLQ, ENTRIES, PAGES
from services.devtools import seedserver
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import (
    canonical_link,
    fetch_page,
    load_state,
    poll_feed,
    register_feed,
)
from tests.conftest import SEEDS, serve_locally


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


@pytest.fixture
async def odd_server() -> AsyncIterator[str]:
    async def redirect(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/r/{n - 1}" if n > 1 else "/ok")

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="<p>fine</p>", content_type="text/html")

    async def big(_: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * 300_000, content_type="text/html")

    async def missing(_: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def consent(request: web.Request) -> web.Response:
        # A consent wall: set a cookie and redirect back; the article only with it.
        if request.cookies.get("consent") == "yes":
            meter = int(request.cookies.get("meter", "0"))
            resp = web.Response(text=f"<p>article; meter {meter}</p>", content_type="text/html")
            resp.set_cookie("meter", str(meter + 1))  # a paywall meter, per visitor
            return resp
        resp = web.HTTPFound(request.path)
        resp.set_cookie("consent", "yes", path="/consent")
        resp.set_cookie("elsewhere", "no", path="/other")
        raise resp

    async def pdf(_: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.7", content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/r/{n}", redirect)
    app.router.add_get("/ok", ok)
    app.router.add_get("/big", big)
    app.router.add_get("/missing", missing)
    app.router.add_get("/consent", consent)
    app.router.add_get("/doc.pdf", pdf)
    runner, base = await serve_locally(app)
    yield base
    await runner.cleanup()


async def test_redirects_are_followed_and_recorded(settings: Settings, odd_server: str) -> None:
    client = HttpClient(settings)
    try:
        resp = await client.get(f"{odd_server}/r/3", kind="page")
        assert resp.status == 200 and resp.final_url == f"{odd_server}/ok"
        assert resp.redirects == [f"{odd_server}/r/3", f"{odd_server}/r/2", f"{odd_server}/r/1"]
        with pytest.raises(FetchError) as too_many:
            await client.get(f"{odd_server}/r/9", kind="page")
        assert too_many.value.reason == "redirects"
    finally:
        await client.close()


async def test_cookies_live_for_one_redirect_chain(settings: Settings, odd_server: str) -> None:
    client = HttpClient(settings)
    # By name: a shared aiohttp jar would keep cookies of a named host across fetches.
    site = odd_server.replace("127.0.0.1", "localhost")
    try:
        for _ in range(3):
            resp = await client.get(f"{site}/consent", kind="page")
            # The cookie the redirect set came back on the next hop, and no cookie
            # from an earlier fetch did: every visit is the meter's first.
            assert resp.redirects == [f"{site}/consent"]
            assert resp.body == b"<p>article; meter 0</p>"
    finally:
        await client.close()


async def test_limits_and_errors(settings: Settings, odd_server: str) -> None:
    client = HttpClient(settings)
    try:
        with pytest.raises(TooLargeError):
            await client.get(f"{odd_server}/big", kind="page")
        with pytest.raises(HttpStatusError) as missing:
            await client.get(f"{odd_server}/missing", kind="page")
        assert missing.value.status == 404
    finally:
        await client.close()


async def test_loopback_is_refused_unless_allowed(odd_server: str) -> None:
    client = HttpClient(Settings(allow_private_networks=False))
    try:
        with pytest.raises(BlockedAddressError):
            await client.get(f"{odd_server}/ok", kind="page")
        with pytest.raises(FetchError) as by_name:
            await client.get(odd_server.replace("127.0.0.1", "localhost") + "/ok", kind="page")
        assert by_name.value.reason == "blocked_address"
        # Forms the URL library folds into 127.0.0.1 before connecting to it directly.
        for disguised in ("１２７.0.0.1", "①②⑦.0.0.1", "127。0。0。1"):
            with pytest.raises(BlockedAddressError):
                await client.get(odd_server.replace("127.0.0.1", disguised) + "/ok", kind="page")
    finally:
        await client.close()


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
        return await poll_feed(command, table=table, client=client, settings=settings)

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
    try:
        for expected_errors in (1, 2):
            [dead] = await poll_feed(
                encode(FeedPoll(url=url, partition=0)),
                table=table,
                client=client,
                settings=settings,
            )
            assert dead.topic == DLQ.name and dead.key == url.encode()
            letter = decode(DeadLetter, dead.value)
            assert (letter.stage, letter.reason) == ("fetcher", "http_status")
            state = load_state(table, url)
            assert state is not None and state.error_count == expected_errors
            assert state.last_error and "http_status" in state.last_error
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
