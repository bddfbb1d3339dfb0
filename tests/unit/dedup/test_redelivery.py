"""A question asked again gets the answer it got the first time, however many later
articles were filed under its key in between.

A key keeps only its latest postings (`band_postings`, `story_postings`, URL versions).
In an undisturbed run the question of article `s` is answered before any later
article's on that key, so its answer is "the latest postings before `s`". When it is
answered again (its answer never reached the broker, and the holder that answered it
restarted after later articles had filed under the key), trimming must not have dropped
what the first answer found: each question carries the decider's floor (the lowest
sequence number it has not decided; nothing below it is asked again whose answer still
matters), and a key keeps every posting at or above the floor.
"""

from __future__ import annotations

import random

import pytest

from services.dedup.config import DedupConfig
from services.dedup.lookups import URL_VERSIONS, Kind, Lookups, Question
from services.dedup.lsh import BandIndex

CONFIG = DedupConfig()
DAY = 20_000


def _lookups() -> Lookups:
    return Lookups({}, {}, {}, {}, CONFIG)


def _ask(lookups: Lookups, kind: Kind, seq: int, floor: int | None) -> tuple[int, ...]:
    return lookups.answer(Question(seq, kind, "k", DAY, floor)).found


CAPS = {"band": CONFIG.band_postings, "story": CONFIG.story_postings, "url": URL_VERSIONS}


@pytest.mark.parametrize("kind", ["band", "story", "url"])
def test_a_question_asked_again_after_20_later_articles_gets_its_first_answer(
    kind: Kind,
) -> None:
    cap = CAPS[kind]
    lookups = _lookups()
    asked = cap + 4  # more earlier articles on the key than it keeps
    for seq in range(asked):
        _ask(lookups, kind, seq, floor=seq)
    # Article `asked` is answered; its answer never reaches the decider, so the decider's
    # floor stays at `asked` while 20 later articles are asked and file under the key.
    first = _ask(lookups, kind, asked, floor=asked)
    assert first == (tuple(range(4, asked)) if kind != "url" else (asked - 1,))
    for seq in range(asked + 1, asked + 21):
        _ask(lookups, kind, seq, floor=asked)
    # The holder restarted; the question is read again and answered from the postings
    # those 20 filed into.
    assert _ask(lookups, kind, asked, floor=asked) == first
    # Once the decider has decided it, the key is trimmed back to its cap (plus what the
    # floor still protects): memory stays bounded.
    _ask(lookups, kind, asked + 21, floor=asked + 21)
    assert _size(lookups, kind) <= cap + 1


def _size(lookups: Lookups, kind: Kind) -> int:
    if kind == "url":
        return len(lookups.urls["k"].split(","))
    index = lookups.bands if kind == "band" else lookups.story_keys
    return len(index.bands["k"]) // 10


def test_a_question_without_a_floor_is_answered_as_before() -> None:
    """A record written before questions carried a floor: trimmed to the latest postings,
    as it always was (the asked-again answer can miss what the first found)."""
    bands = BandIndex({}, DedupConfig(band_postings=3))
    for seq in range(3):
        bands.lookup("k", seq, DAY)
    assert bands.lookup("k", 3, DAY) == [0, 1, 2]
    for seq in range(4, 8):
        bands.lookup("k", seq, DAY)
    assert bands.lookup("k", 3, DAY) == []
    assert len(bands.bands["k"]) == 3 * 10


def _replay(
    config: DedupConfig, arrivals: list[tuple[int, str]], lag: int, redeliver: float, seed: int
) -> tuple[dict[tuple[int, str], tuple[int, ...]], int]:
    """Questions (seq, key) asked in sequence order, while the decider lags `lag` articles
    behind; with probability `redeliver` an undecided question is asked again. The first
    answer per question, and the most postings a key held."""
    rng = random.Random(seed)
    bands = BandIndex({}, config)
    first: dict[tuple[int, str], tuple[int, ...]] = {}
    most = 0
    for seq, key in arrivals:
        floor = max(0, seq - lag)
        got = tuple(bands.lookup(key, seq, DAY, floor))
        assert first.setdefault((seq, key), got) == got
        if rng.random() < redeliver:
            again_seq, again_key = rng.choice([a for a in arrivals if floor <= a[0] <= seq])
            again = tuple(bands.lookup(again_key, again_seq, DAY, floor))
            assert again == first[(again_seq, again_key)], (again_seq, again_key)
        most = max(most, max(len(v) // 10 for v in bands.bands.values()))
    return first, most


@pytest.mark.parametrize("seed", range(5))
def test_answers_are_a_function_of_the_sequence_alone(seed: int) -> None:
    """Undisturbed, with the decider lagging, or with redeliveries: the same answers as
    the old trimming gave in an undisturbed run, and postings bounded by the cap plus
    what the decider has not decided."""
    config = DedupConfig(band_postings=4)
    rng = random.Random(seed)
    arrivals = [(seq, f"k{rng.randrange(3)}") for seq in range(300)]
    old = BandIndex({}, config)
    undisturbed = {(seq, key): tuple(old.lookup(key, seq, DAY)) for seq, key in arrivals}
    for lag, redeliver in ((0, 0.0), (5, 0.0), (12, 0.3), (40, 0.5)):
        answers, most = _replay(config, arrivals, lag, redeliver, seed)
        assert answers == undisturbed
        assert most <= config.band_postings + lag + 1
