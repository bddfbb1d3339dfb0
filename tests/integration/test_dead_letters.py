"""Every stage's dead letters on a real broker: the right stage, reason and original.

Each bad input is produced to its stage's input topic, read back from the broker (so
the source partition and offset are real), handed to the stage as its agent hands it
(`Stage.handle` with the function the agent applies, built the way the service builds
it), and the outputs are produced as the agent produces them. Then newswire.dlq is
read until every expected record is there (deadline 120 s), and each is validated
against schemas/dlq.schema.json. The service processes themselves would read the
topics' whole backlog from earlier tests first; the end-to-end test runs those.

The fetcher's reasons come from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from aiohttp import web
from aiokafka import TopicPartition

from services.cleaner.pipeline import handle_page
from services.common.kafka import consumer, ensure_topics, producer
from services.common.models import (
    Article,
    Enriched,
    Entry,
    FeedPoll,
    FeedRecord,
    Page,
    encode,
)
from services.common.settings import Settings
from services.common.stage import Output, Source, Stage
from services.common.topics import ARTICLES, DLQ, ENRICHED, ENTRIES, FEED_POLLS, PAGES
from services.dedup.config import config_from
from services.dedup.pipeline import route
from services.enricher.pipeline import handle_article
from services.fetcher.config import config_from as poll_config
from services.fetcher.net.http import HttpClient
from services.fetcher.net.politeness import HostGate
from services.fetcher.net.robots import RobotsCache
from services.fetcher.pipeline import fetch_page, poll_feed, register_feed
from tests.conftest import SEED_HTML, serve_locally, validate_record

WAIT_S = 120.0
NOT_JSON = b"\x00\xff not json {"
# JSON, but not the record its topic promises.
WRONG_SHAPE = b'{"id": 5, "paragraphs": "not a list"}'

Handler = Callable[[bytes | None], Sequence[Output] | Awaitable[Sequence[Output]]]


@dataclass(frozen=True)
class Expected:
    """A dead letter the test waits for, found by where its input was on the broker."""

    case: str
    stage: str
    reason: str
    original: bytes
    source_topic: str
    source_partition: int
    source_offset: int | None  # None: the stage names no offset (a feed poll's failure)
    key: str | None
    truncated: bool = False


class Driver:
    """Produces inputs, reads them back and runs them through a stage, on the broker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prod = producer(settings)

    async def __aenter__(self) -> Driver:
        await self.prod.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.prod.stop()

    async def read_back(self, topic: str, key: bytes | None, value: bytes, partition: int) -> Any:
        meta = await self.prod.send_and_wait(topic, key=key, value=value, partition=partition)
        cons = consumer(self.settings, enable_auto_commit=False, group_id=None)
        await cons.start()
        try:
            tp = TopicPartition(topic, meta.partition)
            cons.assign([tp])
            cons.seek(tp, meta.offset)
            return await asyncio.wait_for(cons.getone(), WAIT_S)
        finally:
            await cons.stop()

    async def run(
        self,
        stage: Stage,
        topic: str,
        key: bytes | None,
        value: bytes,
        fn: Handler,
        *,
        partition: int = 0,
        offload: bool = False,
    ) -> Any:
        """The agent's loop body for one record: handle it, send what comes out."""
        msg = await self.read_back(topic, key, value, partition)
        source = Source(msg.topic, msg.partition, msg.offset, msg.key)
        outputs = await stage.handle(source, msg.value, fn, offload=offload)
        assert outputs, "a stage always answers a record (an output or a dead letter)"
        for out in outputs:
            await self.prod.send_and_wait(
                out.topic, key=out.key, value=out.value, partition=out.partition
            )
        return msg


def expect(case: str, stage: str, reason: str, msg: Any, *, truncated: bool = False) -> Expected:
    return Expected(
        case=case,
        stage=stage,
        reason=reason,
        original=msg.value,
        source_topic=msg.topic,
        source_partition=msg.partition,
        source_offset=msg.offset,
        key=msg.key.decode() if msg.key is not None else None,
        truncated=truncated,
    )


async def read_dead_letters(settings: Settings, wanted: list[Expected]) -> dict[str, Any]:
    """Read newswire.dlq until each expected record is found (by its source) or 120 s."""
    found: dict[str, Any] = {}
    cons = consumer(settings, enable_auto_commit=False, group_id=None)
    await cons.start()
    try:
        parts = cons.partitions_for_topic(DLQ.name)
        deadline = time.monotonic() + WAIT_S
        while not parts and time.monotonic() < deadline:
            await cons._client.force_metadata_update()
            parts = cons.partitions_for_topic(DLQ.name)
        tps = [TopicPartition(DLQ.name, p) for p in sorted(parts or ())]
        cons.assign(tps)
        await cons.seek_to_beginning(*tps)
        while len(found) < len(wanted) and time.monotonic() < deadline:
            batch = await cons.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    value = json.loads(rec.value)
                    for want in wanted:
                        if (
                            value.get("source_topic") == want.source_topic
                            and value.get("source_partition") == want.source_partition
                            and value.get("source_offset") == want.source_offset
                            and value.get("key") == want.key
                        ):
                            found[want.case] = {"record_key": rec.key, **value}
    finally:
        await cons.stop()
    return found


def check(settings: Settings, wanted: list[Expected]) -> None:
    found = asyncio.run(read_dead_letters(settings, wanted))
    missing = [w.case for w in wanted if w.case not in found]
    assert not missing, f"no dead letter within {WAIT_S:.0f} s for {missing}"
    for want in wanted:
        got = found[want.case]
        validate_record(DLQ.name, {k: v for k, v in got.items() if k != "record_key"})
        assert (got["stage"], got["reason"]) == (want.stage, want.reason), (want.case, got)
        assert got["error"], want.case
        # Keyed like its input, so a dead letter lands beside the record's other traces.
        assert got["record_key"] == (want.key.encode() if want.key is not None else None)
        original = base64.b64decode(got["original_b64"])
        assert got["original_bytes"] == len(want.original), want.case
        assert got["original_truncated"] is want.truncated, want.case
        if want.truncated:
            assert original and want.original.startswith(original), want.case
            assert len(original) < len(want.original), want.case
        else:
            assert original == want.original, want.case


@pytest.fixture(scope="module")
def settings(kafka_settings: Settings) -> Settings:
    asyncio.run(ensure_topics(kafka_settings))
    return kafka_settings


@pytest.fixture
def run() -> str:
    return uuid.uuid4().hex[:8]


def page(run: str, name: str, body: str, content_type: str = "text/html") -> Page:
    url = f"http://dlq-{run}.example/{name}"
    entry = Entry(entry_id=f"{run}-{name}", feed_url=f"http://dlq-{run}.example/feed", link=url)
    return Page.direct(f"{run}-{name}", entry, body, content_type)


# --- cleaner -----------------------------------------------------------------------------------


def test_cleaner_dead_letters(settings: Settings, run: str) -> None:
    async def main() -> list[Expected]:
        stage = Stage("cleaner", max_message_bytes=settings.kafka.max_message_bytes)
        handler = partial(handle_page, config=settings.cleaner, sites={})
        out: list[Expected] = []
        async with Driver(settings) as d:

            async def case(name: str, reason: str, value: bytes, **kw: Any) -> None:
                key = f"{run}-{name}".encode()
                msg = await d.run(kw.pop("stage", stage), PAGES.name, key, value, **kw)
                out.append(expect(name, "cleaner", reason, msg, truncated=reason == "too_large"))

            await case("decode", "decode", NOT_JSON, fn=handler)
            await case("schema", "schema", WRONG_SHAPE, fn=handler)
            empty = page(run, "empty", "<html><head><title>x</title></head><body></body></html>")
            await case("no_content", "no_content", encode(empty), fn=handler)
            deep = page(run, "deep", "<div>" * 400 + "<p>Deep text of the story.</p>")
            await case("too_deep", "too_deep", encode(deep), fn=handler)
            seed = page(run, "seed", SEED_HTML.read_text())
            # A time limit no extraction can meet.
            timed = settings.replace(cleaner_timeout_seconds=0.001)
            await case(
                "timeout", "timeout", encode(seed), fn=partial(handle_page, config=timed.cleaner)
            )
            # An article bigger than what the stage may produce: too_large, and the dead
            # letter itself cut to fit (its original's head only).
            small = Stage("cleaner", max_message_bytes=4096)
            await case("too_large", "too_large", encode(seed), fn=handler, stage=small)
        return out

    check(settings, asyncio.run(main()))


# --- enricher ----------------------------------------------------------------------------------


def test_enricher_dead_letters(settings: Settings, run: str) -> None:
    # Cheap enrichers only: the failures under test come before or after them.
    light = settings.replace(enrichers="language,stats")

    async def main() -> list[Expected]:
        stage = Stage("enricher", max_message_bytes=settings.kafka.max_message_bytes)
        handler = partial(handle_article, config=light.enricher)
        out: list[Expected] = []
        async with Driver(settings) as d:
            for name, reason, value, st in [
                ("decode", "decode", NOT_JSON, stage),
                ("schema", "schema", WRONG_SHAPE, stage),
                # A record with a field of the wrong type, not only a wrong shape at the root.
                (
                    "schema_field",
                    "schema",
                    json.dumps(
                        {"id": f"{run}-x", "url": "u", "text": 5, "paragraphs": []}
                    ).encode(),
                    stage,
                ),
                (
                    "too_large",
                    "too_large",
                    encode(
                        Article(
                            id=f"{run}-big",
                            url=f"http://dlq-{run}.example/big",
                            text="Word " * 2000,
                            paragraphs=["Word " * 2000],
                        )
                    ),
                    Stage("enricher", max_message_bytes=8192),
                ),
            ]:
                key = f"{run}-{name}".encode()
                msg = await d.run(st, ARTICLES.name, key, value, handler, offload=True)
                out.append(expect(name, "enricher", reason, msg, truncated=reason == "too_large"))
        return out

    check(settings, asyncio.run(main()))


# --- dedup -------------------------------------------------------------------------------------


def test_dedup_dead_letters(settings: Settings, run: str) -> None:
    async def main() -> list[Expected]:
        stage = Stage("dedup", max_message_bytes=settings.kafka.max_message_bytes)
        # What the route-articles agent applies, and with a small record limit: an
        # article whose dedup record would not fit is refused there (too_large).
        handler = partial(
            route, config=config_from(settings), limit=settings.kafka.max_message_bytes
        )
        small = partial(route, config=config_from(settings), limit=64 * 1024)
        big_text = " ".join(f"word{i}" for i in range(20_000))
        big = Enriched(
            id=f"{run}-big",
            url=f"http://dlq-{run}.example/big",
            text=big_text,
            paragraphs=[big_text],
        )
        out: list[Expected] = []
        async with Driver(settings) as d:
            for name, reason, value, fn in [
                ("decode", "decode", NOT_JSON, handler),
                ("schema", "schema", WRONG_SHAPE, handler),
                ("too_large", "too_large", encode(big), small),
            ]:
                key = f"{run}-{name}".encode()
                msg = await d.run(stage, ENRICHED.name, key, value, fn)
                out.append(expect(name, "dedup", reason, msg))
        return out

    check(settings, asyncio.run(main()))


# --- fetcher -----------------------------------------------------------------------------------

ROBOTS = "User-agent: *\nDisallow: /private/\n"
RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    "<item><guid>1</guid><link>http://a.example/1</link></item></channel></rss>"
)


def fetcher_site(cap: int) -> web.Application:
    async def robots(_: web.Request) -> web.Response:
        return web.Response(text=ROBOTS, content_type="text/plain")

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="<html><body><p>Fine.</p></body></html>", content_type="text/html")

    async def gone(_: web.Request) -> web.Response:
        return web.Response(status=404, text="no")

    async def broken(_: web.Request) -> web.Response:
        return web.Response(status=500, text="oops")

    async def big(_: web.Request) -> web.Response:
        return web.Response(text="<p>" + "x" * (cap * 2) + "</p>", content_type="text/html")

    async def image(_: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="image/png")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.path)

    async def not_a_feed(_: web.Request) -> web.Response:
        # Neither XML nor JSON. (An HTML page at a feed URL is read as an empty feed,
        # without a dead letter: not this case.)
        return web.Response(text="Service moved. No feed here.", content_type="text/plain")

    async def big_feed(_: web.Request) -> web.Response:
        body = RSS.replace("<title>t</title>", "<title>" + "t" * (cap * 2) + "</title>")
        return web.Response(text=body, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/private/{name}", ok)
    app.router.add_get("/ok", ok)
    app.router.add_get("/gone", gone)
    app.router.add_get("/big", big)
    app.router.add_get("/image", image)
    app.router.add_get("/loop", loop)
    app.router.add_get("/feeds/broken.xml", broken)
    app.router.add_get("/feeds/text.xml", not_a_feed)
    app.router.add_get("/feeds/big.xml", big_feed)
    app.router.add_get("/feeds/gone.xml", gone)
    return app


def test_fetcher_dead_letters(settings: Settings, run: str) -> None:
    cap = 20_000
    fetcher_settings = settings.model_copy(
        update={
            "allow_private_networks": True,
            "fetch_max_bytes": cap,
            "fetch_max_redirects": 3,
            "host_min_delay_seconds": 0.0,
        }
    )

    async def main() -> list[Expected]:
        runner, base = await serve_locally(fetcher_site(cap))
        client = HttpClient(fetcher_settings)
        guarded = HttpClient(settings.replace(allow_private_networks=False))
        stage = Stage("fetcher", max_message_bytes=settings.kafka.max_message_bytes)
        robots = RobotsCache(client, fetcher_settings.fetcher.user_agent, 3600.0)
        fetch = partial(
            fetch_page,
            client=client,
            gate=HostGate(0.0),
            robots=robots,
            partitions=settings.kafka.topic_partitions,
        )
        out: list[Expected] = []
        try:
            async with Driver(settings) as d:
                # Page fetches: an entry on newswire.entries, keyed by its host as the
                # poller keys it.
                pages = [
                    ("robots", "robots", f"{base}/private/{run}", fetch),
                    ("http_status", "http_status", f"{base}/gone?{run}", fetch),
                    ("too_large", "too_large", f"{base}/big?{run}", fetch),
                    ("content_type", "content_type", f"{base}/image?{run}", fetch),
                    ("redirects", "redirects", f"{base}/loop?{run}", fetch),
                    # The SSRF guard, where private networks are not allowed.
                    (
                        "blocked_address",
                        "blocked_address",
                        f"{base}/ok?{run}",
                        partial(fetch_page, client=guarded),
                    ),
                ]
                for name, reason, link, fn in pages:
                    entry = Entry(entry_id=f"{run}-{name}", feed_url=f"{base}/feed", link=link)
                    msg = await d.run(stage, ENTRIES.name, b"127.0.0.1", encode(entry), fn)
                    out.append(expect(f"page {name}", "fetcher", reason, msg))
                msg = await d.run(stage, ENTRIES.name, b"127.0.0.1", NOT_JSON, fetch)
                out.append(expect("entry decode", "fetcher", "decode", msg))

                # Feed polls: the poll dead-letters the feed's failure itself (keyed by
                # the feed URL, no source offset) and keeps the feed scheduled.
                for name, reason, path in [
                    ("http_status", "http_status", "/feeds/broken.xml"),
                    ("http_status_404", "http_status", "/feeds/gone.xml"),
                    ("feed_parse", "feed_parse", "/feeds/text.xml"),
                    ("too_large", "too_large", "/feeds/big.xml"),
                ]:
                    url = f"{base}{path}?{run}"
                    table: dict[str, str] = {}
                    register_feed(
                        encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table
                    )
                    poll = partial(
                        poll_feed, table=table, client=client, config=poll_config(fetcher_settings)
                    )
                    command = encode(FeedPoll(url=url, partition=0))
                    msg = await d.run(stage, FEED_POLLS.name, url.encode(), command, poll)
                    out.append(
                        Expected(
                            case=f"feed {name}",
                            stage="fetcher",
                            reason=reason,
                            original=command,
                            source_topic=FEED_POLLS.name,
                            source_partition=0,
                            source_offset=None,
                            key=url,
                        )
                    )
                    assert url in table, "a failing feed stays tracked"
        finally:
            await client.close()
            await guarded.close()
            await runner.cleanup()
        return out

    check(settings, asyncio.run(main()))
