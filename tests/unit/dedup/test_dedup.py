from __future__ import annotations

from services.common.models import Enriched, Story, decode, encode
from services.common.topics import DEDUP_BY_HASH, STORIES
from services.dedup.fingerprint import content_hash
from services.dedup.pipeline import decide_story, route
from services.dedup.verdicts import FirstSeen, decide


def test_content_hash_ignores_markup_spacing_case_and_punctuation() -> None:
    a = content_hash("Hamas  leader Ismail Haniyeh visited Egypt.\n\nTalks go on!")
    b = content_hash("hamas leader ismail haniyeh visited egypt talks go on")
    assert a == b
    assert a != content_hash("Hamas leader Ismail Haniyeh visited Qatar. Talks go on!")


def test_verdicts() -> None:
    first = decide("a1", None)
    assert (first.verdict, first.duplicate_of, first.story_id) == ("new", None, "a1")
    assert first.remember == FirstSeen("a1", "a1")
    dup = decide("b2", FirstSeen("a1", "a1"))
    assert (dup.verdict, dup.duplicate_of, dup.story_id, dup.remember) == (
        "duplicate",
        "a1",
        "a1",
        None,
    )
    replay = decide("a1", FirstSeen("a1", "a1"))
    assert (replay.verdict, replay.duplicate_of) == ("new", None)


def _article(aid: str, text: str) -> bytes:
    return encode(Enriched(id=aid, url=f"http://x/{aid}", text=text, paragraphs=[text]))


def test_route_then_decide_with_a_state_table() -> None:
    table: dict[str, str] = {}
    out = route(_article("a1", "Same text here."))
    assert out[0].topic == DEDUP_BY_HASH.name
    assert out[0].key == content_hash("Same text here.").encode()
    first = decode(Story, decide_story(out[0].value, table)[0].value)
    second_raw = route(_article("b2", "same TEXT here"))[0].value
    second_out = decide_story(second_raw, table)[0]
    second = decode(Story, second_out.value)
    assert second_out.topic == STORIES.name
    assert (first.verdict, second.verdict, second.duplicate_of) == ("new", "duplicate", "a1")
    assert first.story_id == second.story_id == "a1"
    assert second_out.key == b"a1"
    assert "dedup" in second.article.trace.stages
