"""Time is the article's, not the clock's (issue 16 item 2): the same articles fed live
and backfilled from an archive captured 30 days ago get the same verdicts and the same
story grouping, and a month-old archive is not evicted on arrival."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.common.models import Enriched, Trace
from services.common.settings import Settings
from services.dedup.config import config_from
from services.dedup.engine import Deduper
from services.dedup.pipeline import arrival, item_of
from tests.texts import story_text


def corpus(start: datetime, n: int = 200) -> list[Enriched]:
    """`n` arrivals over three days from `start`: new articles on eight topics, exact
    copies under other URLs, near copies (three words changed) and updates."""
    rng = random.Random(16)
    out: list[Enriched] = []
    originals: list[Enriched] = []
    for i in range(n):
        at = start + timedelta(minutes=20 * i)
        kind = rng.random() if originals else 0.0
        if kind < 0.6:
            body = story_text(f"backfill-{i}", i % 8, 120)
            article = Enriched(id=f"a{i}", url=f"http://outlet{i % 5}.example/a{i}", text=body,
                               paragraphs=[body], title=f"Story {i}")  # fmt: skip
            originals.append(article)
        elif kind < 0.8:
            source = rng.choice(originals)
            article = source.model_copy(update={"id": f"c{i}", "url": f"http://other.example/c{i}"})
        elif kind < 0.9:
            source = rng.choice(originals)
            words = source.text.split()
            for j in rng.sample(range(len(words)), 3):
                words[j] = f"changed{j}"
            body = " ".join(words)
            article = source.model_copy(
                update={"id": f"n{i}", "url": f"http://third.example/n{i}", "text": body}
            )
        else:
            source = rng.choice(originals)
            article = source.model_copy(update={"text": source.text + " An update came later."})
        published = at - timedelta(minutes=rng.randrange(0, 90))
        out.append(
            article.model_copy(update={"published": published, "trace": Trace(fetched_at=at)})
        )
    return out


def decide(articles: list[Enriched]) -> list[tuple[str, str, str | None, str]]:
    """(id, verdict, duplicate_of, first article of its story) per arrival."""
    deduper = Deduper(config=config_from(Settings()))
    first: dict[str, str] = {}
    out: list[tuple[str, str, str | None, str]] = []
    for article in articles:
        result = deduper.process(item_of(article), now=arrival(article))
        first.setdefault(result.story_id, article.id)
        out.append((article.id, result.verdict, result.duplicate_of, first[result.story_id]))
    return out


def test_an_archive_captured_30_days_ago_is_decided_as_it_was_live() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    live = decide(corpus(now - timedelta(days=3)))
    backfilled = decide(corpus(now - timedelta(days=33)))
    assert backfilled == live
    verdicts = {v for _, v, _, _ in live}
    assert verdicts == {"new", "duplicate", "update"}, verdicts
    # Copies found across the whole archive: none of it was evicted on arrival.
    assert sum(v == "duplicate" for _, v, _, _ in backfilled) >= 40
    # Stories with several outlets' articles formed, the same way in both.
    assert sum(1 for a, _, _, s in live if a != s) >= 60
