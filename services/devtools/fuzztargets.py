"""The code `make fuzz` attacks: one function per target, bytes in, nothing out.

A target may raise `NewswireError` (a stage dead-letters those); any other exception is
a crash. Every target takes plain bytes, so a saved input replays exactly: the fuzz
runner, the regression tests and a developer at a prompt call the same function.

Where a target needs more than a body (a content type, a flag), the input's last byte
chooses it, so one byte string still says everything about a case.

The services' modules are imported on first use, not here: the atheris worker imports
them under its coverage instrumentation, which must be in place before they load.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

FEED_URL = "http://fuzz.example/feed"
PAGE_URL = "http://fuzz.example/news/story"

# The Content-Type a feed body arrives with (None: the server sent none).
FEED_TYPES: tuple[str | None, ...] = (
    None,
    "application/rss+xml",
    "application/atom+xml; charset=utf-8",
    "application/xml; charset=iso-8859-1",
    "text/xml; charset=shift_jis",
    "application/feed+json",
    "application/json; charset=utf-16",
    "text/html; charset=windows-1251",
)
# A page's content type and whether the cleaner writes Markdown too.
PAGE_TYPES: tuple[tuple[str, bool], ...] = (
    ("text/html", False),
    ("text/html; charset=utf-8", True),
    ("application/xhtml+xml", False),
    ("text/plain", False),
    ("text/html; charset=gb2312", False),
    ("text/plain; charset=utf-16", True),
)


def pick(data: bytes, options: Sequence[Any]) -> Any:
    """The option the input's last byte selects (the first for an empty input)."""
    return options[data[-1] % len(options)] if data else options[0]


def split_header(data: bytes) -> tuple[str, bytes]:
    """A Content-Type header (the first line, as aiohttp hands it over: latin-1 text) and
    the body after it."""
    head, _, body = data.partition(b"\n")
    return head.decode("latin-1").strip("\r"), body


def _entry(link: str = PAGE_URL) -> Any:
    from services.common.models import Entry

    return Entry(entry_id=link, feed_url=FEED_URL, link=link, title="Fuzz", authors=["A. Writer"])


def run_feeds(data: bytes) -> None:
    """A feed body through everything that turns it into newswire.entries records."""
    from services.common.stage import Counts, Source
    from services.fetcher.parse import sitemaps
    from services.fetcher.parse.dispatch import parse_feed
    from services.fetcher.pipeline import entries_from, entry_records, fetcher_stage
    from services.fetcher.state.feedstate import FeedState

    parsed = parse_feed(data, url=FEED_URL, content_type=pick(data, FEED_TYPES))
    if sitemaps.sitemap_kind(data) == "sitemapindex":
        sitemaps.parse_sitemap_index(data, url=FEED_URL)
    entries = entries_from(parsed, FeedState(url=FEED_URL, partition=0), FEED_URL)
    source = Source("newswire.feed-polls", 0, 0, FEED_URL.encode())
    fetcher_stage().settle(source, data, entry_records(entries, source, Counts())[0])


def run_charset(data: bytes) -> None:
    """A page's Content-Type header and body: charset sniffing, decoding and the page
    record the fetcher builds from them (first line = header, the rest = body)."""
    from services.common.charset import decode_body, whatwg_codec
    from services.common.models import encode
    from services.fetcher.net.http import Response
    from services.fetcher.pipeline import build_page

    content_type, body = split_header(data)
    resp = Response(
        url=PAGE_URL,
        final_url=PAGE_URL,
        status=200,
        headers={"content-type": content_type},
        body=body,
    )
    text, charset = decode_body(body, resp.charset)
    whatwg_codec(resp.charset)
    # Whatever decode_body answers must be text a record can carry.
    text.encode("utf-8")
    page = build_page(_entry(), resp)
    encode(page)
    assert page.charset == charset, (page.charset, charset)


_SETTINGS: Any = None


def _settings() -> Any:
    global _SETTINGS
    if _SETTINGS is None:
        from services.common.settings import Settings

        _SETTINGS = Settings()
    return _SETTINGS


def run_extraction(data: bytes) -> None:
    """Page bytes through the cleaner's pure path: decode as the fetcher does, extract
    (what the worker process runs), build the article, learn the site, encode."""
    from services.cleaner.extract import extract
    from services.cleaner.pipeline import article_from, learn_site
    from services.cleaner.sitelearn import LearnSettings
    from services.common.charset import decode_body
    from services.common.models import Page, encode

    content_type, markdown = pick(data, PAGE_TYPES)
    charset = content_type.partition("charset=")[2] or None
    text, _ = decode_body(data, charset)
    page = Page.direct("fuzz-article", _entry(), text, content_type)
    settings = _settings()
    ext = extract(
        page.body, page.content_type, max_chars=settings.cleaner.max_page_chars, markdown=markdown
    )
    article = article_from(page, ext)
    article = learn_site(article, {}, LearnSettings(min_articles=1, min_share=0.5))
    encode(article)


def run_cleaner_record(data: bytes) -> None:
    """A newswire.pages record's bytes, decoded as the cleaner decodes them, then extracted."""
    from services.cleaner.extract import extract
    from services.cleaner.pipeline import article_from
    from services.common.models import Page, decode, encode

    page = decode(Page, data)
    settings = _settings()
    ext = extract(page.body, page.content_type, max_chars=settings.cleaner.max_page_chars)
    encode(article_from(page, ext))


def load_enricher() -> None:
    """The enrichers' models, loaded once per process (seconds each)."""
    from services.common.models import Article
    from services.enricher.pipeline import enrich

    enrich(
        Article(id="warm", url=PAGE_URL, text="Warm up in Paris, France.", paragraphs=[]),
        _settings().enricher,
    )


def run_enrichment(data: bytes) -> None:
    """A newswire.articles record's bytes through the enricher's handler."""
    from services.enricher.pipeline import handle_article

    handle_article(data, _settings().enricher)


def ask_any(raw: bytes | None, seq: int, partitions: int) -> list[Any]:
    """dedup's `ask`, given a fresh stream clock when its signature takes one (the clock
    arrived while this runner was written; both forms are served)."""
    import inspect

    from services.dedup.pipeline import ask

    if "clock" in inspect.signature(ask).parameters:
        from services.dedup.clock import StreamClock

        return ask(raw, seq, partitions, StreamClock({}))  # type: ignore[call-arg,unused-ignore]
    return ask(raw, seq, partitions)  # type: ignore[call-arg,unused-ignore]


def run_dedup(data: bytes) -> None:
    """Bytes at each of dedup's hops (route, ask, answer), then a record that passes route
    carried on through ask and answer, as the agents would."""
    from services.common.errors import NewswireError
    from services.dedup.config import DedupConfig
    from services.dedup.lookups import Lookups
    from services.dedup.pipeline import answer, route

    config = DedupConfig()

    def lookups() -> Lookups:
        return Lookups({}, {}, {}, {}, config)

    routed: list[bytes] = []
    for hop in (
        lambda raw: routed.extend(o.value or b"" for o in route(raw, config, 1_000_000)),
        lambda raw: ask_any(raw, 7, 4),
        lambda raw: answer(raw, lookups(), lambda day: None),
    ):
        with contextlib.suppress(NewswireError):
            hop(data)
    for value in routed:
        for out in ask_any(value, 0, 4):
            if out.topic.endswith("lookups"):
                answer(out.value, lookups())


def run_models(data: bytes) -> None:
    """`decode` of every topic's model on the same bytes; what decodes must encode again
    and decode to the same record."""
    from services.common.errors import NewswireError
    from services.common.models import TOPIC_MODELS, decode, encode

    refused: NewswireError | None = None
    accepted = 0
    for model in TOPIC_MODELS.values():
        try:
            record = decode(model, data)
        except NewswireError as exc:
            refused = refused or exc
            continue
        accepted += 1
        again = decode(model, encode(record))
        assert again == record, f"{model.__name__} changed in an encode/decode round trip"
    if not accepted and refused is not None:
        raise refused  # counted by type in the report; every model was still tried


def run_selftest(data: bytes) -> None:
    """The runner's own check (not in "all"): inputs that crash, hang or kill the worker."""
    import os
    import time

    if data == b"crash":
        raise RuntimeError("selftest crash")
    if data == b"hang":
        time.sleep(3600)
    if data == b"die":
        os._exit(7)


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    # Longest input the byte-level fuzzer makes (bigger inputs mostly measure speed).
    max_len: int
    # Loads what is slow to load, once per process, before any case is timed.
    load: Callable[[], None] | None = None
    # Modules whose code atheris instruments for coverage feedback.
    instrument: tuple[str, ...] = ("services",)


# Targets "all" means; "selftest" is only for the runner's tests.
TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("feeds", run_feeds, max_len=16_384),
        Target("charset", run_charset, max_len=8_192),
        Target("extraction", run_extraction, max_len=32_768),
        Target("cleaner-record", run_cleaner_record, max_len=32_768),
        # Instrumented, the enrichers' pure-Python loops run several times slower and a real
        # article passes the case limit; coverage of the record decoding is what helps here.
        Target(
            "enrichment",
            run_enrichment,
            max_len=16_384,
            load=load_enricher,
            instrument=("services.common", "services.enricher.pipeline"),
        ),
        Target("dedup", run_dedup, max_len=16_384),
        Target("models", run_models, max_len=8_192),
        Target("selftest", run_selftest, max_len=16, instrument=()),
    )
}


def as_json(value: Any) -> bytes:
    """JSON as a producer on the wire might write it (NaN and all)."""
    return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


ALL = tuple(name for name in TARGETS if name != "selftest")
