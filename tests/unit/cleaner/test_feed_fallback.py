"""The cleaner's articles from a feed entry: its content cleaned like a page, its summary
as text, and the feed's text in place of a page that gives no article."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.cleaner.feedbody import extract_feed_content, extract_summary, wrap_fragment
from services.common.errors import ExtractionTimeoutError, NoContentError
from services.common.models import Article, DeadLetter, Entry, decode, encode
from services.common.settings import EnricherSettings, Settings
from services.common.stage import Output
from services.common.topics import ARTICLES, DLQ
from services.fetcher.fallback import feed_page
from tests.conftest import page_for, validate_record
from tests.unit.cleaner.staged import SOURCE, clean_record

SETTINGS = Settings(cleaner_timeout_seconds=60.0)
LINK = "https://news.example/2024/03/harbour-budget"
PUBLISHED = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
PARAGRAPHS = [
    "The town council approved the harbour budget on Tuesday after a debate that ran "
    "late into the evening, with eleven votes in favour and four against.",
    "The plan pays for new quay walls, a ferry terminal and dredging of the inner basin, "
    "work that the harbour master says cannot wait another winter.",
    "Opponents argued that the cost should be shared with the regional government, which "
    "owns part of the land along the northern pier.",
]
CONTENT = (
    "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    + '<div class="sharedaddy"><h3>Share this:</h3><ul><li><a href="#">Twitter</a></li>'
    + '<li><a href="#">Facebook</a></li></ul></div>'
)
EMPTY_PAGE = (
    "<html><head><title>x</title></head><body><nav><a href='/'>Home</a></nav></body></html>"
)


def entry(
    content: str | None = CONTENT, summary: str | None = "A short teaser &amp; more."
) -> Entry:
    return Entry(
        entry_id="e1",
        feed_url="https://news.example/feed",
        link=LINK,
        title="Harbour budget approved",
        summary=summary,
        content=content,
        authors=["Ana Ruiz"],
        published=PUBLISHED,
    )


async def clean(page: Any, **kw: Any) -> list[Output]:
    return await clean_record(encode(page), SETTINGS.cleaner, {}, **kw)


def articles(outputs: list[Output]) -> list[Article]:
    for out in outputs:
        validate_record(out.topic, json.loads(out.value or b""))
    return [decode(Article, o.value) for o in outputs if o.topic == ARTICLES.name]


def test_feed_content_is_cleaned_by_the_page_code() -> None:
    ext = extract_feed_content(CONTENT, "Harbour budget approved", max_chars=10**6)
    assert ext.paragraphs == PARAGRAPHS  # share bar gone, every paragraph kept
    # The wrapper's <title> is the entry's: left for the article to take as the feed's.
    assert ext.title is None and "title" not in ext.sources


def test_short_feed_content_is_still_the_article() -> None:
    ext = extract_feed_content("<p>Two lines only.</p><p>Second.</p>", None, max_chars=10**6)
    assert ext.text  # whatever trafilatura thinks of it, the feed sent this text
    assert "Two lines only." in ext.text


def test_summary_is_text_without_markup() -> None:
    ext = extract_summary("<p>Teaser with <b>bold</b> &amp; an entity.</p><p>Second.</p>")
    assert ext.paragraphs == ["Teaser with bold & an entity.", "Second."]
    with pytest.raises(NoContentError):
        extract_summary("<p> </p>")


def test_wrapped_fragment_escapes_the_title() -> None:
    doc = wrap_fragment("<p>x</p>", "A <b> & C")
    assert "<title>A &lt;b&gt; &amp; C</title>" in doc and "<article><p>x</p></article>" in doc


async def test_a_feed_content_page_becomes_its_article() -> None:
    page = feed_page(entry(), status=403, page_error="http_status")
    [article] = articles(await clean(page))
    assert article.body_source == "feed_content"
    assert article.paragraphs == PARAGRAPHS
    # The metadata is the entry's.
    assert (article.title, article.authors, article.published) == (
        "Harbour budget approved",
        ["Ana Ruiz"],
        PUBLISHED,
    )
    assert article.metadata_sources["title"] == "feed"
    assert article.url == LINK and article.site == "news.example"


async def test_a_feed_summary_page_becomes_its_article() -> None:
    page = feed_page(entry(content=None), status=0, page_error="robots")
    [article] = articles(await clean(page))
    assert article.body_source == "feed_summary"
    assert article.text == "A short teaser & more."


async def test_a_page_without_article_text_falls_back_to_the_feed_content() -> None:
    raw = encode(page_for(entry(), EMPTY_PAGE))
    outputs = await clean_record(raw, SETTINGS.cleaner, {}, source=SOURCE)
    dead = [decode(DeadLetter, o.value) for o in outputs if o.topic == DLQ.name]
    [article] = articles(outputs)
    # The page's failure is dead-lettered as before, for operators.
    assert [d.reason for d in dead] == ["no_content"]
    assert (dead[0].source_topic, dead[0].source_offset) == ("newswire.pages", 7)
    assert base64.b64decode(dead[0].original_b64) == raw
    assert article.body_source == "feed_content" and article.paragraphs == PARAGRAPHS
    assert article.title == "Harbour budget approved"


async def test_the_fallback_is_counted_where_the_stage_settles_it() -> None:
    """The transform only says what happened (its Outcome's counts and Failure); the
    stage turns that into the counters, as for every other stage."""
    from services.cleaner.pipeline import handle_page
    from services.common import metrics

    fell_back = metrics.FEED_FALLBACKS.labels("cleaner", "feed_content", "no_content")
    failed = metrics.RECORDS_FAILED.labels("cleaner", "no_content")
    before = (fell_back._value.get(), failed._value.get())
    raw = encode(page_for(entry(), EMPTY_PAGE))
    outcome = await handle_page(raw, SETTINGS.cleaner, {})
    assert (fell_back._value.get(), failed._value.get()) == before  # nothing counted yet
    assert dict(outcome.counts) == {("feed_fallbacks", "cleaner", "feed_content", "no_content"): 1}
    await clean_record(raw, SETTINGS.cleaner, {})
    assert (fell_back._value.get(), failed._value.get()) == (before[0] + 1, before[1] + 1)


async def test_a_page_without_article_text_falls_back_to_the_summary() -> None:
    outputs = await clean(page_for(entry(content=None), EMPTY_PAGE))
    [article] = articles(outputs)
    assert article.body_source == "feed_summary"
    assert [o.topic for o in outputs].count(DLQ.name) == 1


async def test_nothing_to_fall_back_on_is_a_dead_letter_alone() -> None:
    with pytest.raises(NoContentError):
        await clean(page_for(entry(content=None, summary=None), EMPTY_PAGE))


def _raise_timeout(*_: Any, **__: Any) -> Any:
    # Runs in the worker process: module-level so that it pickles by reference.
    raise ExtractionTimeoutError("extraction took longer than the limit", reason="timeout")


async def test_a_page_whose_extraction_fails_otherwise_falls_back_too() -> None:
    raw = encode(page_for(entry(), EMPTY_PAGE))
    outputs = await clean_record(raw, SETTINGS.cleaner, {}, extractor=_raise_timeout)
    dead = [decode(DeadLetter, o.value) for o in outputs if o.topic == DLQ.name]
    assert [d.reason for d in dead] == ["timeout"]
    [article] = articles(outputs)
    assert article.body_source == "feed_content"


async def test_a_real_page_keeps_body_source_page(seed_html: str) -> None:
    [article] = articles(await clean(page_for(entry(), seed_html)))
    assert article.body_source == "page"


async def test_body_source_is_carried_to_enriched_and_stories() -> None:
    from services.common.models import Story
    from services.enricher.pipeline import enrich

    page = feed_page(entry(content=None), status=403, page_error="http_status")
    [article] = articles(await clean(page))
    enriched = enrich(article, EnricherSettings(enrichers="stats"))
    assert enriched.body_source == "feed_summary"
    story = Story(
        story_id=article.id,
        article_id=article.id,
        verdict="new",
        content_hash="h",
        article=enriched,
    )
    value = json.loads(encode(story))
    validate_record("newswire.stories", value)
    assert value["article"]["body_source"] == "feed_summary"
