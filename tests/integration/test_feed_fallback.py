"""No article lost to a page that cannot be had (issue 14, item 8), end to end.

Real broker, the fetcher and the cleaner as real processes, a real HTTP site on
127.0.0.1 whose feeds carry each item's whole text (RSS content:encoded). For each way
a page fails (403, a 402 paywall, robots.txt, a timeout, a page with no article text)
the article still reaches newswire.articles, from the feed's content and marked so, and
the page's failure is on newswire.dlq; an item with only a summary gives
`feed_summary`. A feed with `pages: never` gets no page request at all; with
`pages: auto` a full-content item is not requested and a teaser item is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiokafka import TopicPartition

from services.common.kafka import consumer
from services.common.settings import Settings
from services.common.topics import ARTICLES, DLQ
from services.devtools.stack import Stack
from tests.conftest import SEED_HTML, serve_locally, validate_record

WAIT_S = 600.0
EMPTY_PAGE = (
    "<html><head><title>x</title></head><body><nav><a href='/'>Home</a></nav></body></html>"
)


def story(marker: str, paragraphs: int = 6) -> str:
    """An article's HTML as a feed's content:encoded carries it."""
    sentences = (
        f"{marker} opened the meeting with a statement on the harbour budget. "
        "Council members then debated the cost of new quay walls for more than an hour. "
        "The vote, taken late in the evening, passed with a clear majority."
    )
    return "".join(f"<p>{sentences} Paragraph {i}.</p>" for i in range(paragraphs))


@dataclass(frozen=True)
class Item:
    case: str
    path: str  # under /{run}/
    content: str | None
    summary: str | None = None


class Site:
    """Three feeds and their article pages on 127.0.0.1, in a thread; counts requests."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.base = ""
        self.hits: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stall: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None
        marker = self.marker
        self.always = [
            Item("403", "a/forbidden", story(marker("403"))),
            Item("402", "a/paywall", story(marker("402"))),
            Item("robots", "private/story", story(marker("robots"))),
            Item("timeout", "a/slow", story(marker("timeout"))),
            Item("no_content", "a/empty", story(marker("no_content"))),
            Item("summary", "a/forbidden-summary", None, f"{marker('summary')} in brief."),
        ]
        self.never = [Item("never", "n/story", story(marker("never")))]
        self.auto = [
            Item("auto_whole", "w/story", story(marker("auto_whole"), paragraphs=12)),
            Item("auto_teaser", "t/story", f"<p>{marker('auto_teaser')} began […]</p>"),
        ]

    def marker(self, case: str) -> str:
        return f"Mayor{self.run}{case.replace('_', '')}"

    def url(self, path: str) -> str:
        return f"{self.base}/{self.run}/{path}"

    def feed(self, items: list[Item]) -> str:
        out = []
        for it in items:
            parts = [f"<title>{it.case}</title><link>{self.url(it.path)}</link>"]
            parts.append(f"<guid>{self.run}-{it.case}</guid>")
            if it.summary:
                parts.append(f"<description>{it.summary}</description>")
            if it.content:
                parts.append(f"<content:encoded><![CDATA[{it.content}]]></content:encoded>")
            out.append("<item>" + "".join(parts) + "</item>")
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
            + "".join(out)
            + "</channel></rss>"
        )

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stall = asyncio.Event()
        feeds = {"always.xml": self.always, "never.xml": self.never, "auto.xml": self.auto}

        async def handler(request: web.Request) -> web.StreamResponse:
            path = request.path
            self.hits[path] += 1
            name = path.removeprefix(f"/{self.run}/")
            if path == "/robots.txt":
                return web.Response(text=f"User-agent: *\nDisallow: /{self.run}/private/\n")
            if name in feeds:
                return web.Response(text=self.feed(feeds[name]), content_type="application/rss+xml")
            if name in ("a/forbidden", "a/forbidden-summary"):
                return web.Response(status=403, text="Forbidden")
            if name == "a/paywall":
                return web.Response(status=402, text="Subscribe to read")
            if name == "a/slow":
                assert self._stall is not None
                await self._stall.wait()  # past the fetcher's timeout; released at stop
            if name == "a/empty":
                return web.Response(text=EMPTY_PAGE, content_type="text/html")
            return web.Response(text=SEED_HTML.read_text(), content_type="text/html")

        async def start() -> None:
            app = web.Application()
            app.router.add_get("/{tail:.*}", handler)
            self._runner, self.base = await serve_locally(app)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(30)

    def stop(self) -> None:
        if self._stall is not None:
            self._loop.call_soon_threadsafe(self._stall.set)
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site(uuid.uuid4().hex[:8])
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _link_of(dead: dict[str, Any]) -> str | None:
    """The article link a dead letter is about: its original is an entry or a page."""
    try:
        original = json.loads(base64.b64decode(dead["original_b64"]))
    except ValueError:
        return None
    if not isinstance(original, dict):
        return None
    link = original.get("link") or original.get("url")
    return link if isinstance(link, str) else None


async def collect(
    settings: Settings, links: set[str], wanted_dead: set[str], alive: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Read newswire.articles and newswire.dlq until an article for every link and a
    dead letter for every link in `wanted_dead` are there (or WAIT_S)."""
    articles: dict[str, dict[str, Any]] = {}
    dead: dict[str, dict[str, Any]] = {}
    cons = consumer(settings, enable_auto_commit=False, group_id=None)
    await cons.start()
    try:
        tps = []
        deadline = time.monotonic() + WAIT_S
        for topic in (ARTICLES.name, DLQ.name):
            parts = cons.partitions_for_topic(topic)
            while not parts and time.monotonic() < deadline:
                await cons._client.force_metadata_update()
                parts = cons.partitions_for_topic(topic)
            tps += [TopicPartition(topic, p) for p in sorted(parts or ())]
        cons.assign(tps)
        await cons.seek_to_beginning(*tps)
        while time.monotonic() < deadline:
            if set(articles) >= links and set(dead) >= wanted_dead:
                break
            alive()
            batch = await cons.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    try:
                        value = json.loads(rec.value or b"null")
                    except ValueError:  # other tests' deliberately broken records
                        continue
                    if not isinstance(value, dict):
                        continue
                    if rec.topic == ARTICLES.name and value.get("url") in links:
                        articles[value["url"]] = value
                    elif rec.topic == DLQ.name and (link := _link_of(value)) in links:
                        assert link is not None
                        dead[link] = value
    finally:
        await cons.stop()
    return articles, dead


def test_articles_come_from_the_feed_when_pages_cannot_be_had(
    site: Site, stack: Stack, kafka_settings: Settings
) -> None:
    feeds = stack.run_dir / "feeds.yaml"
    feeds.write_text(
        "feeds:\n"
        f"  - url: {site.url('always.xml')}\n"
        f"  - url: {site.url('never.xml')}\n    pages: never\n"
        f"  - url: {site.url('auto.xml')}\n    pages: auto\n"
    )
    env = {
        "NEWSWIRE_FEEDS_FILE": str(feeds),
        "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0",
        # The slow page never answers: the fetcher's limit is what fails it.
        "NEWSWIRE_FETCH_READ_TIMEOUT": "3",
        "NEWSWIRE_FETCH_TOTAL_TIMEOUT": "3",
    }
    stack.start_service("fetcher", env)
    stack.start_service("cleaner")

    def alive() -> None:
        for name in ("fetcher", "cleaner"):
            proc = stack.procs[name]
            assert proc.alive(), f"{name} died; log in {proc.log}"

    items = {it.case: it for it in site.always + site.never + site.auto}
    links = {site.url(it.path): case for case, it in items.items()}
    fetcher_failures = {"403": "http_status", "402": "http_status", "robots": "robots"}
    fetcher_failures |= {"timeout": "timeout", "summary": "http_status"}
    wanted_dead = {site.url(items[case].path) for case in [*fetcher_failures, "no_content"]}
    articles, dead = asyncio.run(collect(kafka_settings, set(links), wanted_dead, alive))

    missing = sorted(links[link] for link in set(links) - set(articles))
    assert not missing, f"no article within {WAIT_S:.0f} s for {missing}; logs in {stack.run_dir}"
    missing_dead = sorted(links[link] for link in wanted_dead - set(dead))
    assert not missing_dead, f"no dead letter for {missing_dead}"

    expected_source = {case: "feed_content" for case in items}
    expected_source |= {"summary": "feed_summary", "auto_teaser": "page"}
    for link, case in links.items():
        article = articles[link]
        validate_record(ARTICLES.name, article)
        assert article["body_source"] == expected_source[case], (case, article["body_source"])
        assert article["text"].strip(), case
        if case != "auto_teaser":
            # The text is the feed's (its marker), the title the entry's.
            assert site.marker(case) in article["text"], (case, article["text"][:200])
            assert article["title"] == case
    assert "Paragraph 5." in articles[site.url(items["403"].path)]["text"]
    assert "Paragraph 11." in articles[site.url(items["auto_whole"].path)]["text"]
    # The teaser's page was fetched: the article is the page's, not the feed's teaser.
    assert site.marker("auto_teaser") not in articles[site.url(items["auto_teaser"].path)]["text"]

    for case, reason in {**fetcher_failures, "no_content": "no_content"}.items():
        letter = dead[site.url(items[case].path)]
        validate_record(DLQ.name, letter)
        stage = "cleaner" if case == "no_content" else "fetcher"
        assert (letter["stage"], letter["reason"]) == (stage, reason), (case, letter["error"])

    # pages: never and auto with the whole text: no request to the article at all.
    assert site.hits[f"/{site.run}/n/story"] == 0
    assert site.hits[f"/{site.run}/w/story"] == 0
    assert site.hits[f"/{site.run}/t/story"] >= 1
    print(
        "articles by body_source:",
        dict(Counter(a["body_source"] for a in articles.values())),
        "dead letters:",
        {links[k]: v["reason"] for k, v in dead.items()},
    )
