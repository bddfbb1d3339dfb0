from __future__ import annotations

from datetime import UTC, datetime

from services.common.models import Enriched, Story, Trace, decode, encode
from services.common.settings import Settings
from services.common.topics import DEDUP_SEQUENCE, STORIES
from services.dedup.config import config_from
from services.dedup.engine import Deduper
from services.dedup.fingerprint import content_hash
from services.dedup.pipeline import decide_story, route
from tests.conftest import validate_record

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_content_hash_ignores_markup_spacing_case_and_punctuation() -> None:
    a = content_hash("Hamas  leader Ismail Haniyeh visited Egypt.\n\nTalks go on!")
    b = content_hash("hamas leader ismail haniyeh visited egypt talks go on")
    assert a == b
    assert a != content_hash("Hamas leader Ismail Haniyeh visited Qatar. Talks go on!")


def _article(aid: str, text: str, url: str | None = None) -> bytes:
    return encode(
        Enriched(
            id=aid,
            url=url or f"http://x.example/{aid}",
            text=text,
            paragraphs=[text],
            trace=Trace(fetched_at=FETCHED),
        )
    )


def _decide(raw: bytes, deduper: Deduper) -> tuple[bytes | None, Story]:
    out = route(raw)
    assert (out[0].topic, out[0].partition) == (DEDUP_SEQUENCE.name, 0)
    decided = decide_story(out[0].value, deduper)
    assert decided[0].topic == STORIES.name
    story = decode(Story, decided[0].value)
    validate_record(STORIES.name, story.model_dump(mode="json"))
    return decided[0].key, story


def test_sequence_gives_exact_and_near_duplicates_updates_and_replays() -> None:
    deduper = Deduper(config=config_from(Settings(kafka_bootstrap="127.0.0.1:9")))
    text = " ".join(f"Word{i} sentence about the harbour council budget vote." for i in range(40))
    key, first = _decide(_article("a1", text), deduper)
    assert (first.verdict, first.duplicate_of, first.story_id, key) == ("new", None, "a1", b"a1")

    _, exact = _decide(_article("b2", text.upper()), deduper)
    assert (exact.verdict, exact.duplicate_of, exact.match, exact.story_id) == (
        "duplicate",
        "a1",
        "hash",
        "a1",
    )
    near_text = text.replace("Word7 ", "Changed ").replace("Word30 ", "Other ")
    _, near = _decide(_article("c3", near_text), deduper)
    assert (near.verdict, near.duplicate_of, near.match) == ("duplicate", "a1", "near")
    assert near.containment is not None and near.containment >= 0.7

    _, update = _decide(_article("a1", text + " A correction was added."), deduper)
    assert (update.verdict, update.version, update.story_id) == ("update", 2, "a1")
    assert update.size_change == len(" A correction was added.")

    # A redelivery after a crash (same id, same text) gets the same decision again.
    _, replay = _decide(_article("b2", text.upper()), deduper)
    assert (replay.verdict, replay.duplicate_of) == (exact.verdict, exact.duplicate_of)
    assert "dedup" in replay.article.trace.stages


def test_sweep_hook_sees_the_articles_time() -> None:
    seen: list[datetime] = []
    deduper = Deduper()
    decide_story(route(_article("a1", "Some text here."))[0].value, deduper, before=seen.append)
    assert seen == [FETCHED]
