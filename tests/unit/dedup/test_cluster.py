"""Story clustering: one event grouped, another of the same kind apart, old stories closed."""

from __future__ import annotations

from datetime import UTC, datetime

from services.dedup.cluster import StoryClusterer, story_features
from services.dedup.config import DedupConfig
from services.dedup.engine import Deduper, Item

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_stories_group_one_event_and_split_another_of_the_same_kind() -> None:
    reid = [
        "Tara Reid checked into Promises Treatment Center in Malibu, her rep told People.",
        "Actress Tara Reid entered Promises Treatment Center, her spokesman Jack Ketsoyan said.",
        "Reid went to Promises in Malibu on Tuesday, Ketsoyan told People magazine.",
    ]
    lohan = [
        "Lindsay Lohan checked into the Betty Ford Center for a court-ordered rehab stay.",
        "Lohan arrived at Betty Ford Center in Rancho Mirage to begin her 90-day stay.",
        "Lindsay Lohan is at Betty Ford Center after her probation violation, her lawyer said.",
    ]
    filler = [
        "Apple shares rose after the company reported record iPhone sales in China.",
        "The storm brought heavy rain and flooding to coastal towns across Florida.",
    ]
    d = Deduper()
    out = {}
    for i, text in enumerate(filler + [x for pair in zip(reid, lohan, strict=True) for x in pair]):
        out[text] = d.process(Item(f"a{i}", text), T0).story_id
    assert len({out[t] for t in reid}) == 1
    assert len({out[t] for t in lohan}) == 1
    assert out[reid[0]] != out[lohan[0]]


def test_story_window_keeps_old_stories_closed() -> None:
    c = StoryClusterer({}, {}, DedupConfig(story_window_hours=24))
    f = story_features("Tara Reid checked into Promises Treatment Center in Malibu.")
    first = c.assign(f, "a", 0, at=0.0)
    assert first.opened
    assert c.assign(f, "b", 0, at=3600.0, candidates=["a"]).story_id == "a"
    assert c.assign(f, "c", 3, at=3 * 86400.0, candidates=["a"]).story_id == "c"
