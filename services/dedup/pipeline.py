"""Dedup's two steps as functions: route an article by its content hash, then decide."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from datetime import datetime

from services.common import metrics
from services.common.models import Enriched, Story, decode, encode, utcnow
from services.common.stage import Output
from services.common.topics import DEDUP_BY_HASH, STORIES
from services.dedup.fingerprint import content_hash
from services.dedup.verdicts import FirstSeen, decide

STAGE = "dedup"


def route(raw: bytes | None) -> list[Output]:
    """Re-key an enriched article by its content hash so one partition owns each hash."""
    article = decode(Enriched, raw)
    digest = content_hash(article.text)
    return [Output(DEDUP_BY_HASH.name, digest.encode(), encode(article))]


def decide_story(raw: bytes | None, first_by_hash: MutableMapping[str, str]) -> list[Output]:
    """Give a hash-keyed article its verdict; `first_by_hash` is the partition's state."""
    article = decode(Enriched, raw)
    digest = content_hash(article.text)
    known = first_by_hash.get(digest)
    first = FirstSeen(**json.loads(known)) if known else None
    decision = decide(article.id, first)
    if decision.remember is not None:
        first_by_hash[digest] = json.dumps(decision.remember.__dict__)
    now = utcnow()
    story = Story(
        story_id=decision.story_id,
        article_id=article.id,
        verdict=decision.verdict,
        duplicate_of=decision.duplicate_of,
        content_hash=digest,
        decided_at=now,
        article=article.model_copy(update={"trace": article.trace.stamped(STAGE, now)}),
    )
    metrics.DEDUP_VERDICTS.labels(decision.verdict).inc()
    _observe_latency(article.trace.fetched_at, now)
    return [Output(STORIES.name, story.story_id.encode(), encode(story))]


def _observe_latency(fetched_at: datetime | None, now: datetime) -> None:
    if fetched_at is not None:
        metrics.END_TO_END_SECONDS.observe(max(0.0, (now - fetched_at).total_seconds()))
