"""One trace per article across the four real services (issue 17, item 1).

The fetcher, cleaner, enricher and dedup run as processes on the session's broker with
tracing on (spans to one JSON-lines file per service, NEWSWIRE_TRACES_FILE) and fetch
from a site on 127.0.0.1. An article whose page is there gets one trace from its feed
entry to its story: spans from all four processes under its trace id, each the child of
the span that produced its input record (across processes, through the Kafka headers),
each naming the article, and dedup's last one its verdict. A second article, added to
the feed once the first is decided, has a page that answers 403: its page fetch is dead-
lettered (the article comes from the feed), and that span carries the DLQ reason, as
does the fetcher's JSON log line about it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from services.common.urls import article_id
from services.devtools.stack import SERVICES, Stack
from tests.conftest import serve_locally

# Each wait: the first includes the enricher loading its models on a busy machine.
WAIT_S = 300.0


def paragraphs(marker: str, topic: str) -> str:
    """An article of its own (no other test's text is near it: dedup must call it new)."""
    lines = [
        f"{marker} reported on {topic} from the northern valley on Tuesday morning.",
        f"Engineers from {marker} Consulting measured the river gauges at dawn and noon.",
        f"The regional office said the {topic} plan would need another review in spring.",
        f"Residents who spoke to {marker} asked for a public meeting before any decision.",
        f"A spokesperson declined to say when the {topic} budget would be published.",
        f"Farmers near the valley told {marker} that the last season had been the driest.",
    ]
    return "".join(f"<p>{line} {' '.join(lines[:i])}</p>" for i, line in enumerate(lines, 1))


class Site:
    """A feed and its article pages on 127.0.0.1, served from a thread. The feed lists
    the page article first; `add_forbidden` adds one whose page answers 403."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:10]
        self.base = ""
        self.forbidden_listed = False
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str) -> str:
        return f"{self.base}/{self.run}/{path}"

    def marker(self, case: str) -> str:
        return f"Tracer{self.run}{case}"

    def feed(self) -> str:
        items = [
            f"<item><title>Valley water {self.run}</title><link>{self.url('a/page')}</link>"
            f"<guid>{self.run}-page</guid></item>"
        ]
        if self.forbidden_listed:
            body = paragraphs(self.marker("forbidden"), "harbour dredging")
            items.append(
                f"<item><title>Harbour {self.run}</title><link>{self.url('a/forbidden')}</link>"
                f"<guid>{self.run}-forbidden</guid>"
                f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>Tracing {self.run}</title>{''.join(items)}</channel></rss>"
        )

    def add_forbidden(self) -> None:
        self.forbidden_listed = True

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def handler(request: web.Request) -> web.Response:
            name = request.path.removeprefix(f"/{self.run}/")
            if name == "feed.xml":
                return web.Response(text=self.feed(), content_type="application/rss+xml")
            if name == "a/forbidden":
                return web.Response(status=403, text="Forbidden")
            if name == "a/page":
                body = paragraphs(self.marker("page"), "flood defence")
                html = (
                    f"<html><head><title>Valley water {self.run}</title></head><body>"
                    f"<article><h1>Valley water {self.run}</h1>{body}</article></body></html>"
                )
                return web.Response(text=html, content_type="text/html")
            return web.Response(status=404, text="not here")

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
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    s.start()
    try:
        yield s
    finally:
        s.stop()


def read_spans(files: list[Path]) -> list[dict[str, Any]]:
    spans = []
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                spans.append(json.loads(line))
            except ValueError:  # a batch being written right now: read next time
                continue
    return spans


def article_trace(spans: list[dict[str, Any]], article: str) -> list[dict[str, Any]]:
    """The spans of the trace that the article's feed entry began ([] until it did)."""
    roots = [
        s
        for s in spans
        if s["name"] == "feed entry" and s["attributes"].get("newswire.article_id") == article
    ]
    if not roots:
        return []
    assert len(roots) == 1, roots  # the entry is emitted once
    return [s for s in spans if s["trace_id"] == roots[0]["trace_id"]]


def decided(trace: list[dict[str, Any]]) -> bool:
    return any("newswire.verdict" in s["attributes"] for s in trace)


def wait_for(
    what: str, files: list[Path], found: Callable[[list[dict[str, Any]]], bool], stack: Stack
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_S
    while True:
        spans = read_spans(files)
        if found(spans):
            return spans
        dead = [n for n in SERVICES if not stack.procs[n].alive()]
        assert not dead, f"{dead} died; logs in {stack.run_dir}"
        assert time.monotonic() < deadline, f"no {what} within {WAIT_S:.0f} s: {stack.run_dir}"
        time.sleep(1.0)


def check_linked(trace: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every span but the root is the child of another span of the trace; returns the
    spans by id."""
    by_id = {s["span_id"]: s for s in trace}
    [root] = [s for s in trace if s["parent_span_id"] is None]
    assert root["name"] == "feed entry"
    orphans = [s for s in trace if s is not root and s["parent_span_id"] not in by_id]
    assert not orphans, orphans
    return by_id


@pytest.mark.timeout(2 * WAIT_S + 180)
def test_one_article_s_spans_from_four_processes_under_one_trace(site: Site, stack: Stack) -> None:
    feeds = stack.run_dir / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {site.url('feed.xml')}\n")
    spans_dir = stack.run_dir / "spans"
    spans_dir.mkdir()
    env = {
        "NEWSWIRE_FEEDS_FILE": str(feeds),
        "NEWSWIRE_POLL_MIN_INTERVAL_SECONDS": "1",
        "NEWSWIRE_POLL_MAX_INTERVAL_SECONDS": "2",
        "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0",
        "NEWSWIRE_LOG_FORMAT": "json",
        # Spans to files only: `none` keeps the SDK from also trying an OTLP collector.
        "OTEL_TRACES_EXPORTER": "none",
        "NEWSWIRE_TRACES_FILE": str(spans_dir / "{service}.jsonl"),
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    for name in SERVICES:
        stack.start_service(name, env)
    files = [spans_dir / f"{name}.jsonl" for name in SERVICES]
    page_id = article_id(site.url("a/page"))
    forbidden_id = article_id(site.url("a/forbidden"))

    spans = wait_for(
        "story for the page article",
        files,
        lambda spans: decided(article_trace(spans, page_id)),
        stack,
    )
    trace = article_trace(spans, page_id)
    by_id = check_linked(trace)
    services = {s["service"] for s in trace}
    assert services == {f"newswire-{name}" for name in SERVICES}, services
    assert len({s["pid"] for s in trace}) == 4  # four processes
    for span in trace:
        assert span["attributes"]["newswire.article_id"] == page_id, span
        if span["name"] != "feed entry":
            assert span["service"] == f"newswire-{span['attributes']['newswire.stage']}"
            assert span["status"] == "UNSET", span

    # Stage by stage, each the child of the span that produced its input, across processes.
    def one(name: str) -> dict[str, Any]:
        found = [s for s in trace if s["name"] == name]
        assert found, f"no {name!r} span in {sorted(s['name'] for s in trace)}"
        return found[0]

    def parent(span: dict[str, Any]) -> dict[str, Any]:
        return by_id[span["parent_span_id"]]

    fetch = one("fetcher entries")
    assert parent(fetch)["name"] == "feed entry"
    assert parent(fetch)["attributes"]["url.full"] == site.url("a/page")
    cleaner = one("cleaner pages")
    assert parent(cleaner) is fetch and cleaner["pid"] != fetch["pid"]
    enricher = one("enricher articles")
    assert parent(enricher) is cleaner and enricher["pid"] != cleaner["pid"]
    routed = one("dedup enriched")
    assert parent(routed) is enricher and routed["pid"] != enricher["pid"]
    [verdict_span] = [s for s in trace if "newswire.verdict" in s["attributes"]]
    assert verdict_span["service"] == "newswire-dedup"
    assert verdict_span["attributes"]["newswire.verdict"] == "new"
    assert verdict_span["attributes"]["newswire.story_id"] == page_id
    # Dedup's hops between them: the decision descends from the routing.
    hop = verdict_span
    while hop is not routed:
        hop = parent(hop)
        assert hop["service"] == "newswire-dedup", hop

    # The second article: its page answers 403, so the page fetch is dead-lettered and
    # the article made from the feed; its fetch span says why, and so does the log line.
    site.add_forbidden()
    spans = wait_for(
        "story for the forbidden article",
        files,
        lambda spans: decided(article_trace(spans, forbidden_id)),
        stack,
    )
    trace = article_trace(spans, forbidden_id)
    check_linked(trace)
    assert {s["service"] for s in trace} == {f"newswire-{name}" for name in SERVICES}
    [failed] = [s for s in trace if s["name"] == "fetcher entries"]
    assert failed["attributes"]["newswire.dlq_reason"] == "http_status"
    assert failed["status"] == "ERROR"
    assert [s for s in trace if "newswire.dlq_reason" in s["attributes"]] == [failed]

    logged = defaultdict(list)
    for line in stack.procs["fetcher"].log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            logged[record.get("article_id")].append(record)
    fallback_lines = [r for r in logged[forbidden_id] if "article from the feed" in r["message"]]
    assert fallback_lines, f"no fallback log line for {forbidden_id}"
    assert fallback_lines[0]["trace_id"] == failed["trace_id"]
    assert fallback_lines[0]["span_id"] == failed["span_id"]
