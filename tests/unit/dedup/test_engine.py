from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.dedup.config import DedupConfig
from services.dedup.engine import Deduper, DedupStores, Item

VOCAB = [f"w{i}" for i in range(4000)]
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _text(words: int, seed: int) -> str:
    r = random.Random(seed)
    return " ".join(r.choice(VOCAB) for _ in range(words))


def test_verdicts_url_hash_near_and_new() -> None:
    d = Deduper()
    body = _text(400, 1)
    first = d.process(Item("a", body, url="https://news.example/a?utm_source=x"), T0)
    assert (first.verdict, first.duplicate_of, first.story_id, first.version) == (
        "new",
        None,
        "a",
        1,
    )
    exact = d.process(Item("b", body.upper(), url="https://wire.example/b"), T0)
    assert (exact.verdict, exact.duplicate_of, exact.story_id, exact.match) == (
        "duplicate",
        "a",
        "a",
        "hash",
    )
    half = " ".join(body.split()[:200])
    near = d.process(Item("c", half, url="https://other.example/c"), T0)
    assert (near.verdict, near.duplicate_of, near.match) == ("duplicate", "a", "near")
    assert near.containment is not None and near.containment > 0.8
    assert near.similarity is not None and near.similarity < 0.8
    amp = d.process(Item("d", body, url="https://m.news.example/a/amp"), T0)
    assert (amp.verdict, amp.duplicate_of, amp.match) == ("duplicate", "a", "url")
    other = d.process(Item("e", _text(400, 2)), T0)
    assert (other.verdict, other.duplicate_of) == ("new", None)


def test_updates_count_versions_and_size_and_replays_repeat_the_decision() -> None:
    d = Deduper()
    url = "https://news.example/story"
    v1 = d.process(Item("a", "Short first version of the story text here.", url=url), T0)
    v2 = d.process(
        Item("a", "Longer second version of the story text here, now with more.", url=url), T0
    )
    assert (v2.verdict, v2.duplicate_of, v2.version, v2.story_id) == ("update", "a", 2, v1.story_id)
    assert v2.size_change == len(
        "Longer second version of the story text here, now with more."
    ) - len("Short first version of the story text here.")
    again = d.process(
        Item("a", "Longer second version of the story text here, now with more.", url=url), T0
    )
    # A redelivery gets its first decision again, marked as one (it emits no new record).
    assert again == dataclasses.replace(v2, replay=True)
    v3 = d.process(Item("a", "Third.", url=url), T0)
    assert (v3.verdict, v3.version) == ("update", 3) and v3.size_change < 0
    replay = d.process(Item("a", "Short first version of the story text here.", url=url), T0)
    assert replay.verdict == "update" and replay.version == 4  # old text again is a change too


def test_same_input_same_output_and_state_in_plain_stores() -> None:
    items = [Item(f"i{i}", _text(150, i % 7) + f" tail {i}") for i in range(30)]
    runs = []
    for _ in range(2):
        stores = DedupStores()
        d = Deduper(stores)
        runs.append([d.process(it, T0) for it in items])
        assert all(isinstance(v, str) for v in stores.outcomes.values())
        assert all(isinstance(v, bytes) for v in stores.bands.values())
    assert runs[0] == runs[1]
    # A second engine over the same stores (a restarted worker) knows what the first saw.
    stores = DedupStores()
    Deduper(stores).process(items[0], T0)
    assert Deduper(stores).process(Item("z", items[0].text), T0).duplicate_of == "i0"


def test_retention_evicts_on_access_and_by_sweep() -> None:
    config = DedupConfig(retention_days=30)
    d = Deduper(config=config)
    body = _text(300, 5)
    d.process(Item("a", body, published=T0))
    late = d.process(Item("b", body, published=T0 + timedelta(days=31)))
    assert (late.verdict, late.duplicate_of) == ("new", None)  # "a" is past the window
    stores = d.stores
    removed = d.sweep(T0 + timedelta(days=100))
    assert removed > 0
    assert not any(
        (
            stores.outcomes,
            stores.urls,
            stores.hashes,
            stores.bands,
            stores.sketches,
            stores.stories,
            stores.terms,
        )
    )


def test_retention_counts_from_arrival_not_from_the_published_date() -> None:
    # An evergreen page published 40 days before it was fetched is remembered for the
    # whole window from its arrival: its copy, undated, arriving a day later is found.
    d = Deduper(config=DedupConfig(retention_days=30))
    body = _text(300, 11)
    d.process(Item("orig", body, published=T0 - timedelta(days=40)), T0)
    for i in range(3):
        d.process(Item(f"n{i}", _text(300, 20 + i), published=T0), T0)
    d.sweep(T0 + timedelta(days=1))
    copy = d.process(Item("copy", body), T0 + timedelta(days=1))
    assert (copy.verdict, copy.duplicate_of) == ("duplicate", "orig")
    # Past the window of stream time it is forgotten.
    late = d.process(Item("late", body), T0 + timedelta(days=32))
    assert (late.verdict, late.duplicate_of) == ("new", None)


def _stream(n: int, seed: int) -> list[tuple[Item, datetime]]:
    """Arrivals over ~50 days with old-dated, undated and future-dated articles, exact
    copies and new versions: every path retention touches."""
    rng = random.Random(seed)
    out: list[tuple[Item, datetime]] = []
    for i in range(n):
        arrived = T0 + timedelta(hours=i * 50 * 24 / n)
        published = rng.choice([None, arrived, arrived - timedelta(days=rng.randint(1, 90))])
        if out and rng.random() < 0.35:
            prior, _ = rng.choice(out)
            if rng.random() < 0.5:
                item = Item(f"c{i}", prior.text, published=published)
            else:
                item = Item(prior.id, prior.text + f" Update {i}.", url=prior.url)
        else:
            item = Item(
                f"a{i}", _text(200, 1000 + i), url=f"https://x.example/{i}", published=published
            )
        out.append((item, arrived))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sweeps_and_restarts_at_any_moment_change_no_decision(seed: int) -> None:
    config = DedupConfig(retention_days=10)
    stream = _stream(160, seed)
    undisturbed = Deduper(config=config)
    want = [undisturbed.process(item, at) for item, at in stream]
    assert {r.verdict for r in want} == {"new", "duplicate", "update"}
    rng = random.Random(seed)
    stores = DedupStores()
    d = Deduper(stores, config)
    got = []
    for item, at in stream:
        if rng.random() < 0.2:
            d = Deduper(stores, config)  # a restart: nothing kept but the stores
        if rng.random() < 0.3:
            d.sweep(at)  # a sweep at the arrival's own time, whenever it comes
        got.append(d.process(item, at))
    assert got == want
