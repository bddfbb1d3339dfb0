from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from services.common.errors import NewswireError
from services.common.models import DedupAnswer, Enriched, Story, Trace, decode, encode
from services.common.settings import Settings
from services.common.topics import (
    DEDUP_ANSWERS,
    DEDUP_LOOKUPS,
    DEDUP_SEQUENCE,
    STORIES,
    partition_for,
)
from services.dedup.clock import StreamClock
from services.dedup.config import config_from
from services.dedup.engine import Decider, Deduper, DedupStores, Item, lookups_of, prepare
from services.dedup.gather import Gatherer
from services.dedup.pipeline import answer, arrival, ask, item_of, route, verdict
from services.dedup.versions import Versions
from tests.conftest import validate_record

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
VOCAB = [f"term{i}" for i in range(400)]
PARTITIONS = 4


def _text(words: int, seed: int) -> str:
    r = random.Random(seed)
    return " ".join(r.choice(VOCAB) for _ in range(words))


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


class Hops:
    """The agent's hops in one process, with the records passing through their codecs
    and the answers arriving in a shuffled order, heads included."""

    def __init__(self, seed: int = 0) -> None:
        self.config = config_from(Settings(kafka_bootstrap="127.0.0.1:9"))
        self.stores = DedupStores()
        self.lookups = lookups_of(self.stores, self.config)
        self.decider = Decider(self.stores, self.config)
        self.gatherer: Gatherer[int] = Gatherer(lambda: self.decider.progress()[0])
        self.clock = StreamClock({})
        self.versions = Versions(self.stores.versions, self.config.retention_days)
        self.rng = random.Random(seed)
        self.seq = 0
        self.days: list[int] = []
        self.acked: list[int] = []
        self.floors = True  # False: questions as written before they carried a floor

    def sequence(self, raw: bytes) -> bytes:
        out = route(raw, self.config)
        assert [(o.topic, o.partition) for o in out] == [(DEDUP_SEQUENCE.name, 0)]
        validate_record(DEDUP_SEQUENCE.name, json.loads(out[0].value or b""))
        return out[0].value or b""

    def records(self, sequenced: bytes) -> list[bytes]:
        questions, head = self.ask(sequenced)
        return [*(self.answer(q) for q in questions), head]

    def ask(self, sequenced: bytes) -> tuple[list[bytes], bytes]:
        """The next article's question records and its head, with the decider's floor as
        the agent asks them (its ask hop and its decider in one worker)."""
        seq, self.seq = self.seq, self.seq + 1
        questions, heads = [], []
        for o in ask(
            sequenced, seq, PARTITIONS, self.clock, floor=self.floor, versions=self.versions
        ):
            assert o.value is not None
            validate_record(o.topic, json.loads(o.value))
            if o.topic == DEDUP_LOOKUPS.name:
                # Each record goes to the partition that holds all of its keys.
                keys = [one["key"] for one in json.loads(o.value)["lookups"]]
                assert {partition_for(k, PARTITIONS) for k in keys} == {o.partition}
                questions.append(o.value)
            else:
                assert (o.topic, o.partition) == (DEDUP_ANSWERS.name, 0)
                heads.append(o.value)
        (head,) = heads
        return questions, head

    @property
    def floor(self) -> int | None:
        return self.decider.floor() if self.floors else None

    def answer(self, question: bytes) -> bytes:
        (reply,) = answer(question, self.lookups, before=self.days.append)
        assert (reply.topic, reply.partition) == (DEDUP_ANSWERS.name, 0)
        assert reply.value is not None
        validate_record(reply.topic, json.loads(reply.value))
        return reply.value

    def offer(self, records: list[bytes]) -> list[Story]:
        stories = []
        for i, value in enumerate(records):
            ready, done = self.gatherer.offer(decode(DedupAnswer, value), i)
            self.acked.extend(done)
            for r in ready:
                self.acked.extend(r.tokens)
                for out in verdict(r, self.decider):  # none for a replay
                    assert out.topic == STORIES.name
                    story = decode(Story, out.value)
                    validate_record(STORIES.name, story.model_dump(mode="json"))
                    assert out.key == story.story_id.encode()
                    stories.append(story)
        return stories

    def decide(self, raw: bytes) -> Story:
        (story,) = self.decide_all(raw)
        return story

    def decide_all(self, raw: bytes) -> list[Story]:
        records = self.records(self.sequence(raw))
        self.rng.shuffle(records)
        return self.offer(records)


def test_hops_give_exact_and_near_duplicates_updates_and_replays() -> None:
    hops = Hops()
    text = " ".join(f"Word{i} sentence about the harbour council budget vote." for i in range(40))
    first = hops.decide(_article("a1", text))
    assert (first.verdict, first.duplicate_of, first.story_id) == ("new", None, "a1")

    exact = hops.decide(_article("b2", text.upper()))
    assert (exact.verdict, exact.duplicate_of, exact.match, exact.story_id) == (
        "duplicate",
        "a1",
        "hash",
        "a1",
    )
    near_text = text.replace("Word7 ", "Changed ").replace("Word30 ", "Other ")
    near = hops.decide(_article("c3", near_text))
    assert (near.verdict, near.duplicate_of, near.match) == ("duplicate", "a1", "near")
    assert near.containment is not None and near.containment >= 0.7

    update = hops.decide(_article("a1", text + " A correction was added."))
    assert (update.verdict, update.version, update.story_id) == ("update", 2, "a1")
    assert update.size_change == len(" A correction was added.")

    # The same article sent again upstream (same id, same text) keeps its decision, which
    # is on the stories topic already: nothing new goes out, and its own decision is kept.
    assert hops.decide_all(_article("b2", text.upper())) == []
    again = hops.decider.decided(hops.seq - 1)
    assert again is not None and again.replay
    assert (again.verdict, again.duplicate_of, again.story_id) == ("duplicate", "a1", "a1")
    assert "dedup" in exact.article.trace.stages
    # The lookups' sweep hook saw each question's day: the articles' fetch day.
    assert set(hops.days) == {int(FETCHED.timestamp() // 86400)}


def test_a_replay_asks_only_its_url_question_and_repeats_its_decision() -> None:
    hops = Hops()
    text = _text(200, 3)
    first = hops.decide(_article("a1", text))
    questions, head = hops.ask(hops.sequence(_article("a1", text)))
    asked = [one["kind"] for q in questions for one in json.loads(q)["lookups"]]
    assert asked == ["url"] and json.loads(head)["expect"] == 1
    assert hops.offer([*(hops.answer(q) for q in questions), head]) == []
    again = hops.decider.decided(hops.seq - 1)
    assert again is not None and again.replay and again.story_id == first.story_id


def test_hops_agree_with_the_engine_in_one_process() -> None:
    texts = [_text(120, i % 5) + (f" extra {i}" if i % 3 else "") for i in range(30)]
    # Same URL every 7th article (updates), same text for some (duplicates).
    raws = [_article(f"x{i}", t, url=f"http://s.example/{i % 7}") for i, t in enumerate(texts)]
    hops = Hops(seed=4)
    deduper = Deduper(config=hops.config)
    for raw in raws:
        stories = hops.decide_all(raw)
        article = decode(Enriched, raw)
        expected = deduper.process(item_of(article), now=arrival(article))
        assert len(stories) == (0 if expected.replay else 1)
        if not stories:
            continue
        (story,) = stories
        assert (story.verdict, story.duplicate_of, story.story_id, story.version) == (
            expected.verdict,
            expected.duplicate_of,
            expected.story_id,
            expected.version,
        )
    decided = [deduper.decider.decided(i) for i in range(30)]
    assert {"new", "duplicate", "update"} <= {d.verdict for d in decided if d is not None}


def test_redelivered_records_after_a_restart_get_the_same_verdicts() -> None:
    hops = Hops(seed=1)
    text = _text(200, 9)
    first = hops.decide(_article("a1", text))
    copy_records = hops.records(hops.sequence(_article("b2", text + " tail")))
    (copy,) = hops.offer(copy_records)
    assert (copy.verdict, copy.duplicate_of) == ("duplicate", "a1")
    # The decider restarts and its input is read again from before both articles: the
    # lookups answer the same (they find their own entries filed), the gatherer starts
    # empty, and each article already decided gets its stored decision again.
    hops.gatherer = Gatherer(lambda: hops.decider.progress()[0])
    hops.seq = 0
    again = hops.records(hops.sequence(_article("a1", text)))
    again += hops.records(hops.sequence(_article("b2", text + " tail")))
    stories = hops.offer(again)
    assert [(s.article_id, s.verdict, s.duplicate_of) for s in stories] == [
        ("a1", "new", None),
        ("b2", "duplicate", "a1"),
    ]
    assert first.story_id == stories[0].story_id == stories[1].story_id


@pytest.mark.parametrize("floors", [True, False])
def test_a_lookup_answered_again_after_20_later_articles_gives_the_first_verdict(
    floors: bool,
) -> None:
    """A near copy's questions are answered, but the answers never reach the decider
    (the holder dies before they reach the broker); 20 exact copies of the original
    are asked and answered meanwhile, filing under the same band keys; the holder
    restarts and answers the near copy's questions again. With the decider's floor on
    the questions, the verdicts are the engine's in one process; without it (records
    from before the floor) the band keys had kept only the copies, so the near copy
    missed its original: the fault this guards against."""
    hops = Hops(seed=2)
    hops.floors = floors
    text = _text(300, 11)
    words = text.split()
    words[100:103] = ["changed", "three", "words"]
    raws = [
        _article("orig", text),
        _article("near", " ".join(words)),
        *(_article(f"copy{i}", text) for i in range(20)),
    ]
    deduper = Deduper(config=hops.config)
    expected = [deduper.process(item_of(decode(Enriched, r)), now=FETCHED) for r in raws]
    assert (expected[1].verdict, expected[1].duplicate_of, expected[1].match) == (
        "duplicate",
        "orig",
        "near",
    )
    (first,) = hops.offer(hops.records(hops.sequence(raws[0])))
    questions, head = hops.ask(hops.sequence(raws[1]))
    lost = [hops.answer(q) for q in questions]  # filed; the answers never reach the broker
    later = [r for raw in raws[2:] for r in hops.records(hops.sequence(raw))]
    again = [hops.answer(q) for q in questions]  # read again after the holder restarted
    assert (again == lost) is floors
    stories = [first, *hops.offer([head, *again, *later])]
    got = [(s.article_id, s.verdict, s.duplicate_of, s.story_id) for s in stories]
    want = [(r.id, r.verdict, r.duplicate_of, r.story_id) for r in expected]
    if floors:
        assert got == want
    else:
        assert got[1][:3] == ("near", "new", None) != want[1][:3]


def test_an_article_too_large_for_the_hops_is_refused_with_a_reason() -> None:
    config = config_from(Settings(kafka_bootstrap="127.0.0.1:9"))
    raw = _article("big", _text(3000, 1))
    with pytest.raises(NewswireError) as refused:
        route(raw, config, limit=len(raw))
    assert refused.value.reason == "too_large"
    assert route(raw, config, limit=10 * len(raw))  # room enough: on to the sequence


def test_a_publication_date_in_the_future_counts_from_arrival() -> None:
    config = config_from(Settings(kafka_bootstrap="127.0.0.1:9"))
    later = FETCHED.replace(year=2030)
    prep = prepare(Item("a", "some text", published=later), config, now=FETCHED)
    assert prep.at == FETCHED.timestamp()
    earlier = FETCHED.replace(year=2020)
    prep = prepare(Item("b", "some text", published=earlier), config, now=FETCHED)
    assert prep.at == earlier.timestamp()
    # Retention counts from arrival, whatever the published date says.
    assert prep.day == int(FETCHED.timestamp() // 86400)
