"""The cleaner's limits: time per document (really stopped), size, and nesting depth."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from services.cleaner.extract import Extracted, extract
from services.cleaner.pipeline import handle_page
from services.cleaner.workers import ExtractionPool
from services.common.errors import (
    ExtractionTimeoutError,
    PageTooDeepError,
    WorkerCrashedError,
)
from services.common.models import Article, Entry, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Source, Stage
from tests.unit.cleaner.staged import clean_record

SETTINGS = Settings(cleaner_timeout_seconds=30.0).cleaner
QUICK = Settings(cleaner_timeout_seconds=1.0).cleaner


# Run in the worker process: module-level so that they pickle by reference.
def spin_forever(*args: Any, **kwargs: Any) -> Extracted:
    while True:  # pure Python: no thread could interrupt this
        pass


def die(*args: Any, **kwargs: Any) -> Extracted:
    os._exit(3)


def raw_page(body: str, content_type: str = "text/html") -> bytes:
    link = "https://example.org/story"
    entry = Entry(entry_id="e", feed_url="https://example.org/feed", link=link)
    page = Page(
        article_id="a1",
        url=link,
        final_url=link,
        status=200,
        content_type=content_type,
        body=body,
        body_bytes=len(body),
        entry=entry,
    )
    return encode(page)


GOOD = raw_page("Headline\n\nBy Jane Doe\n\nThe story itself.", "text/plain")


async def test_a_runaway_extraction_is_stopped_and_the_next_page_still_works() -> None:
    started = time.monotonic()
    with pytest.raises(ExtractionTimeoutError) as stuck:
        await handle_page(GOOD, QUICK, extractor=spin_forever)
    assert stuck.value.reason == "timeout"
    assert time.monotonic() - started < 15
    [out] = await clean_record(GOOD, SETTINGS)
    article = decode(Article, out.value)
    assert article.paragraphs == ["The story itself."] and article.authors == ["Jane Doe"]


async def test_a_timeout_becomes_a_dead_letter_with_its_reason() -> None:
    async def handler(raw: bytes | None) -> Any:
        return await handle_page(raw, QUICK, extractor=spin_forever)

    [dead] = await Stage("cleaner").handle(Source("newswire.pages", 0, 7, b"a1"), GOOD, handler)
    assert dead.topic == "newswire.dlq"
    assert b'"reason":"timeout"' in (dead.value or b"")


async def test_a_crashed_worker_is_replaced() -> None:
    with pytest.raises(WorkerCrashedError):
        await handle_page(GOOD, SETTINGS, extractor=die)
    assert len(await clean_record(GOOD, SETTINGS)) == 1


def test_the_blocking_path_has_the_same_limit() -> None:
    pool = ExtractionPool(1)
    try:
        with pytest.raises(ExtractionTimeoutError):
            pool.run_sync(spin_forever, timeout=1.0)
        assert pool.run_sync(ok_extraction, timeout=30.0).paragraphs == ["ok"]
    finally:
        pool.close()


def ok_extraction() -> Extracted:
    return Extracted(title=None, byline=None, paragraphs=["ok"])


def test_deeply_nested_html_is_refused_not_crashed() -> None:
    deep = "<html><body>" + "<div>" * 100_000 + "<p>text</p>" + "</div>" * 100_000 + "</body>"
    with pytest.raises(PageTooDeepError) as refused:
        extract(deep, "text/html", max_chars=10_000_000)
    assert refused.value.reason == "too_deep"


async def test_deeply_nested_html_through_the_worker() -> None:
    deep = "<html><body>" + "<div>" * 100_000 + "<p>text</p>" + "</div>" * 100_000 + "</body>"
    with pytest.raises(PageTooDeepError):
        await handle_page(raw_page(deep), SETTINGS)


def test_nesting_within_the_parser_limit_still_extracts() -> None:
    paragraphs = "".join(f"<p>Paragraph {i} {'with many words ' * 8}</p>" for i in range(5))
    html = "<html><body>" + "<div>" * 200 + paragraphs + "</div>" * 200 + "</body></html>"
    assert len(extract(html, "text/html", max_chars=10_000_000).paragraphs) == 5
