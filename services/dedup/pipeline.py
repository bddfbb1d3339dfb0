"""Dedup's two steps as functions: put an article in the decision sequence, then decide."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.common import metrics
from services.common.models import Enriched, Story, decode, encode, utcnow
from services.common.stage import Output
from services.common.topics import DEDUP_SEQUENCE, STORIES
from services.dedup.engine import Deduper, Item, Result

STAGE = "dedup"


def route(raw: bytes | None) -> list[Output]:
    """Check the record, then queue it in the one ordered sequence dedup decides in."""
    article = decode(Enriched, raw)
    return [Output(DEDUP_SEQUENCE.name, article.id.encode(), raw, partition=0)]


def item_of(article: Enriched) -> Item:
    return Item(
        id=article.id,
        text=article.text,
        url=article.url,
        canonical_url=article.canonical_url,
        title=article.title,
        published=article.published,
        # No names (another language, or NER off): the engine's capitalised-phrase guess.
        entities=[e.text for e in article.entities] or None,
        language=article.language,
    )


def arrival(article: Enriched) -> datetime:
    """The article's time for the retention window when it has no published date.

    The fetch time, not the clock: a record replayed after a crash gets the same day.
    """
    return article.trace.fetched_at or utcnow()


def decide_story(
    raw: bytes | None, deduper: Deduper, before: Callable[[datetime], None] | None = None
) -> list[Output]:
    """The verdict and story of the next article in the sequence.

    `before` is called with the article's time first (the agent sweeps expired state).
    """
    article = decode(Enriched, raw)
    at = arrival(article)
    if before is not None:
        before(at)
    result = deduper.process(item_of(article), now=at)
    now = utcnow()
    story = story_record(article, result, now)
    metrics.DEDUP_VERDICTS.labels(result.verdict).inc()
    if result.match == "near" and result.containment is not None:
        metrics.DEDUP_SIMILARITY.observe(result.containment)
    _observe_latency(article.trace.fetched_at, now)
    return [Output(STORIES.name, story.story_id.encode(), encode(story))]


def story_record(article: Enriched, result: Result, now: datetime) -> Story:
    return Story(
        story_id=result.story_id,
        article_id=article.id,
        verdict=result.verdict,
        duplicate_of=result.duplicate_of,
        version=result.version,
        size_change=result.size_change,
        match=result.match,
        similarity=result.similarity,
        containment=result.containment,
        content_hash=result.content_hash,
        decided_at=now,
        article=article.model_copy(update={"trace": article.trace.stamped(STAGE, now)}),
    )


def _observe_latency(fetched_at: datetime | None, now: datetime) -> None:
    if fetched_at is not None:
        metrics.END_TO_END_SECONDS.observe(max(0.0, (now - fetched_at).total_seconds()))
