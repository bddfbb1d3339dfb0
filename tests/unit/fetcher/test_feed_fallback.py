"""The page fetcher's feed fallback, against a real HTTP server on 127.0.0.1: a page that
cannot be had is dead-lettered and its article comes from the entry; `pages` modes."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from services.common import metrics
from services.common.errors import (
    BlockedAddressError,
    FetchError,
    HttpStatusError,
    NewswireError,
    RobotsDisallowedError,
)
from services.common.models import DeadLetter, Entry, FeedPages, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Output, Source
from services.common.topics import DLQ, PAGES, partition_for
from services.common.urls import host_of
from services.fetcher.fallback import falls_back, feed_page
from services.fetcher.net.http import HttpClient
from services.fetcher.net.robots import RobotsCache
from services.fetcher.pipeline import fetch_page_or_feed, fetcher_stage
from tests.conftest import serve_locally, validate_record

CONTENT = "<p>" + "The whole story as the feed carries it. " * 60 + "</p>"
SOURCE = Source("newswire.entries", 2, 41, b"127.0.0.1")


@pytest.fixture
async def site() -> AsyncIterator[tuple[str, Counter[str]]]:
    hits: Counter[str] = Counter()
    stall = asyncio.Event()  # never set: the slow page answers only after the timeout

    async def handler(request: web.Request) -> web.StreamResponse:
        hits[request.path] += 1
        path = request.path
        if path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow: /private/\n")
        if path.startswith("/status/"):
            return web.Response(status=int(path.rsplit("/", 1)[1]), text="no")
        if path == "/slow":
            await stall.wait()
        if path == "/image":
            return web.Response(body=b"\x89PNG\r\n", content_type="image/png")
        return web.Response(
            text="<html><body><p>The page.</p></body></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner, base = await serve_locally(app)
    try:
        yield base, hits
    finally:
        stall.set()  # else the server's shutdown waits for the stalled handler
        await runner.cleanup()


def entry(
    link: str,
    *,
    content: str | None = CONTENT,
    summary: str | None = "A teaser.",
    pages: FeedPages = "always",
) -> Entry:
    return Entry(
        entry_id=link, feed_url="http://feed.example/f", link=link, title="Story",
        summary=summary, content=content, pages=pages,
    )  # fmt: skip


async def run(e: Entry, **kw: Any) -> list[Output]:
    settings = Settings(
        allow_private_networks=True, fetch_total_timeout=1.0, fetch_read_timeout=1.0
    )
    client = HttpClient(kw.pop("settings", settings))
    robots = RobotsCache(client, settings.fetcher.user_agent, 3600.0)
    try:
        raw = encode(e)
        outcome = await fetch_page_or_feed(raw, client=client, robots=robots, partitions=4, **kw)
        # What the page agent's Stage makes of it: the dead letter beside the feed's page.
        return fetcher_stage().settle(SOURCE, raw, outcome)
    finally:
        await client.close()


def split(outputs: list[Output]) -> tuple[list[DeadLetter], list[Page]]:
    dead = [decode(DeadLetter, o.value) for o in outputs if o.topic == DLQ.name]
    pages = [decode(Page, o.value) for o in outputs if o.topic == PAGES.name]
    for out in outputs:
        validate_record(out.topic, json.loads(out.value or b""))
    return dead, pages


@pytest.mark.parametrize(
    ("path", "reason", "status"),
    [
        ("/status/403", "http_status", 403),
        ("/status/401", "http_status", 401),
        ("/status/402", "http_status", 402),
        ("/status/451", "http_status", 451),
        ("/status/503", "http_status", 503),
        ("/private/x", "robots", 0),
        ("/slow", "timeout", 0),
        ("/image", "content_type", 0),
    ],
)
async def test_page_failure_gives_dead_letter_and_feed_page(
    site: tuple[str, Counter[str]], path: str, reason: str, status: int
) -> None:
    base, _ = site
    e = entry(base + path)
    outputs = await run(e)
    dead, pages = split(outputs)
    assert [d.reason for d in dead] == [reason]
    # The dead letter names the entry as the stage's own would.
    assert (dead[0].source_topic, dead[0].source_partition, dead[0].source_offset) == (
        "newswire.entries", 2, 41
    )  # fmt: skip
    assert base64.b64decode(dead[0].original_b64) == encode(e)
    [page] = pages
    assert (page.body_source, page.page_error, page.status) == ("feed_content", reason, status)
    assert page.body == CONTENT and page.url == e.link
    page_out = next(o for o in outputs if o.topic == PAGES.name)
    # Keyed and partitioned like a fetched page.
    assert page_out.key == page.article_id.encode()
    assert page_out.partition == partition_for(host_of(e.link), 4)


async def test_summary_when_the_entry_has_no_content(site: tuple[str, Counter[str]]) -> None:
    base, _ = site
    _, [page] = split(await run(entry(base + "/status/403", content=None)))
    assert (page.body_source, page.body) == ("feed_summary", "A teaser.")


async def test_nothing_to_fall_back_on_raises_as_before(site: tuple[str, Counter[str]]) -> None:
    base, _ = site
    with pytest.raises(HttpStatusError):
        await run(entry(base + "/status/403", content=None, summary=None))


@pytest.mark.parametrize("path", ["/status/404", "/status/410"])
async def test_a_removed_article_is_not_brought_back(
    site: tuple[str, Counter[str]], path: str
) -> None:
    base, _ = site
    with pytest.raises(HttpStatusError):
        await run(entry(base + path))


async def test_the_ssrf_guard_does_not_fall_back(site: tuple[str, Counter[str]]) -> None:
    base, hits = site
    guarded = Settings(allow_private_networks=False)
    with pytest.raises(NewswireError) as refused:
        await run(entry(base + "/ok"), settings=guarded)
    assert refused.value.reason == "blocked_address"
    assert hits["/ok"] == 0


def test_which_failures_fall_back() -> None:
    assert falls_back(HttpStatusError("x", status=403))
    assert falls_back(RobotsDisallowedError("x"))
    assert falls_back(FetchError("x", reason="timeout"))
    assert falls_back(FetchError("x", reason="connect"))
    assert not falls_back(HttpStatusError("x", status=404))
    assert not falls_back(BlockedAddressError("x"))
    assert not falls_back(FetchError("x", reason="blocked_address"))  # from the resolver
    assert not falls_back(FetchError("x", reason="bad_url"))
    assert not falls_back(ValueError("a bug"))


async def test_pages_never_makes_no_request(site: tuple[str, Counter[str]]) -> None:
    base, hits = site
    dead, [page] = split(await run(entry(base + "/news/1", pages="never")))
    assert not dead and page.body_source == "feed_content" and page.page_error is None
    assert sum(hits.values()) == 0  # not even robots.txt
    with pytest.raises(FetchError) as empty:
        await run(entry(base + "/news/2", pages="never", content=None, summary=None))
    assert empty.value.reason == "no_feed_content"
    assert sum(hits.values()) == 0


async def test_pages_auto_skips_whole_content_and_fetches_a_teaser(
    site: tuple[str, Counter[str]],
) -> None:
    base, hits = site
    _, [whole] = split(await run(entry(base + "/news/whole", pages="auto")))
    assert whole.body_source == "feed_content" and hits["/news/whole"] == 0
    teaser = "<p>Just the start of it […]</p>"
    _, [fetched] = split(await run(entry(base + "/news/teaser", pages="auto", content=teaser)))
    assert fetched.body_source == "page" and hits["/news/teaser"] == 1
    assert "The page." in fetched.body


def test_feed_page_without_content_or_summary_is_none() -> None:
    assert feed_page(entry("http://n.example/1", content=None, summary=None)) is None
    page = feed_page(entry("http://n.example/1", content=None, summary="<p>x</p>"))
    assert page is not None and page.content_type == "text/html"
    page = feed_page(entry("http://n.example/1", content=None, summary="x"))
    assert page is not None and page.content_type == "text/plain"
    assert page.trace.fetched_at is not None and "fetcher" in page.trace.stages


async def test_a_fallback_is_counted_by_the_stage(site: tuple[str, Counter[str]]) -> None:
    base, _ = site
    failed = metrics.RECORDS_FAILED.labels("fetcher", "http_status")
    dead = metrics.DLQ_RECORDS.labels("fetcher", "http_status")
    fell_back = metrics.FEED_FALLBACKS.labels("fetcher", "feed_content", "http_status")
    before = failed._value.get(), dead._value.get(), fell_back._value.get()
    await run(entry(base + "/status/403"))
    after = failed._value.get(), dead._value.get(), fell_back._value.get()
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
