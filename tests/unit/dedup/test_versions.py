"""Replays, told where the sequence is numbered: an article arriving again as it was asks
only its URL question, so however often anything arrives again (a feed listing it anew,
an upstream stage re-sending after a crash, the router numbering it twice) every other
article is decided as without the repeats."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.dedup.config import DedupConfig
from services.dedup.engine import Deduper, DedupStores, Item, Result
from services.dedup.versions import KEEP, Versions
from tests.texts import story_text

DAY = 20_000
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _told(v: Versions, seq: int, text: str = "h1", aid: str = "a", day: int = DAY) -> bool:
    return v.replay("u", text, aid, seq, day, floor=seq)


def test_the_same_id_and_text_as_the_latest_version_is_a_replay() -> None:
    v = Versions({}, retention_days=30)
    assert not _told(v, 0)  # the first arrival: a version
    assert _told(v, 1)  # the same again
    assert not _told(v, 2, aid="b")  # the same text under another id: a copy, asked
    assert not _told(v, 3, text="h2")  # a new text at the URL: an update
    assert _told(v, 4, text="h2")
    assert not _told(v, 5, text="h1")  # the old text back after the update: a version


def test_told_again_as_the_first_time_after_later_versions() -> None:
    v = Versions({}, retention_days=30)
    first = [_told(v, s, text=t) for s, t in enumerate(["h1", "h1", "h2", "h2"])]
    # Later versions are filed while the decider's floor stays at 1 (its answers lost).
    for seq in range(4, 4 + KEEP + 6):
        v.replay("u", f"h{seq}", "a", seq, DAY, floor=1)
    again = [v.replay("u", t, "a", s, DAY, floor=1) for s, t in enumerate(["h1", "h1", "h2", "h2"])]
    assert again == first == [False, True, False, True]


def test_the_latest_version_expires_with_the_retention_window_from_its_last_arrival() -> None:
    v = Versions({}, retention_days=30)
    assert not _told(v, 0, day=DAY)
    assert _told(v, 1, day=DAY + 20)  # seen again on day 20: counted from there
    assert _told(v, 2, day=DAY + 45)
    assert not _told(v, 3, day=DAY + 80)  # 35 days since: expired, a version again


def test_sweep_forgets_versions_past_the_window() -> None:
    store: dict[str, str] = {}
    v = Versions(store, retention_days=30)
    v.replay("old", "h1", "a", 0, DAY, floor=0)
    v.replay("new", "h1", "b", 1, DAY + 40, floor=1)
    assert set(store) == {"new"}  # swept on the first arrival of day 40


def _arrivals(n: int, seed: int) -> list[Item]:
    """New texts, exact and near copies under other ids, updates: near copies of one text
    by the dozen, so band and story keys hold more relatives than they keep."""
    rng = random.Random(seed)
    out: list[Item] = []
    for i in range(n):
        kind = rng.random() if out else 0.0
        if kind < 0.45:
            out.append(
                Item(f"n{i}", story_text(f"t{seed}-{i}", i % 6), url=f"http://x.example/{i}")
            )
            continue
        prior = rng.choice(out)
        if kind < 0.65:
            out.append(Item(f"e{i}", prior.text, url=f"http://y.example/{i}"))
        elif kind < 0.9:
            words = prior.text.split()
            words[5:8] = ["quite", "other", f"words{i}"]
            out.append(Item(f"m{i}", " ".join(words), url=f"http://z.example/{i}"))
        else:
            out.append(Item(prior.id, f"{prior.text} Update {i} added.", url=prior.url))
    return out


def _decide(items: list[Item], stores: DedupStores | None = None) -> dict[str, Result]:
    d = Deduper(stores, DedupConfig())
    first: dict[str, Result] = {}
    for item in items:
        first.setdefault(f"{item.id}|{item.text}", d.process(item, T0))
    return first


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_repeated_arrivals_change_no_other_decision(seed: int) -> None:
    items = _arrivals(1000, seed)
    want = _decide(items)
    rng = random.Random(seed)
    repeated = list(items)
    for _ in range(150):
        # An arrival again a little later, before any other version of its article.
        i = rng.randrange(len(repeated))
        j, until = i + 1, i + rng.randrange(1, 30)
        while j < min(until, len(repeated)) and repeated[j].id != repeated[i].id:
            j += 1
        repeated.insert(j, repeated[i])
    assert len(repeated) == len(items) + 150
    got = _decide(repeated)
    assert got == want
    near = [r for r in want.values() if r.match == "near"]
    assert len(near) > 100  # the keys were crowded: the input tested what it should


def test_a_restart_keeps_what_tells_replays() -> None:
    stores = DedupStores()
    body = story_text("r", 0)
    first = Deduper(stores, DedupConfig()).process(Item("a", body, url="http://x/a"), T0)
    later = T0 + timedelta(hours=1)
    again = Deduper(stores, DedupConfig()).process(Item("a", body, url="http://x/a"), later)
    assert again.replay and (again.verdict, again.story_id) == (first.verdict, first.story_id)
    assert len(stores.versions) == 1 and len(stores.bands) > 0
    # The replay filed nothing under its band keys.
    assert all(len(raw) == 10 for raw in stores.bands.values())
