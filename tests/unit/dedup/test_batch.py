from __future__ import annotations

import random
from typing import Any

import pytest

from services.dedup.batch import Overlay, decode_writes, encode_writes, logged_seq
from services.dedup.config import DedupConfig
from services.dedup.engine import (
    DECIDER_STORES,
    Answers,
    Decider,
    Deduper,
    DedupStores,
    Item,
    prepare,
    questions,
)

VOCAB = [f"word{i}" for i in range(300)] + ["Tara Reid", "Promises", "Malibu"]


class Crash(Exception):
    pass


class Log:
    """All the decider's stores' writes in one order, as one changelog would hold them;
    raises once `budget` writes have gone through (the worker dies)."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self.count = 0

    def tick(self) -> None:
        if self.budget is not None and self.count >= self.budget:
            raise Crash
        self.count += 1


class Logged(dict[str, Any]):
    def __init__(self, log: Log) -> None:
        super().__init__()
        self.log = log

    def __setitem__(self, key: str, value: Any) -> None:
        self.log.tick()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.log.tick()
        super().__delitem__(key)

    def pop(self, key: str, default: Any = None) -> Any:
        if key in self:
            self.log.tick()
        return super().pop(key, default)


def articles() -> list[Item]:
    rng = random.Random(5)
    texts = [" ".join(rng.choice(VOCAB) for _ in range(80)) for _ in range(6)]
    return [Item(f"a{i}", texts[i % 6] + (" more" * (i % 3)), title="Tara Reid") for i in range(10)]


def run(
    items: list[Item], stores: DedupStores, crash_at: tuple[int, int] | None = None
) -> list[Any]:
    """Decide `items` (lookups in one process); with `crash_at` = (article, writes), the
    decider dies after that many writes of that article, and a new one carries on from
    the stores as they are (a prefix of its writes), redelivering the article."""
    config = DedupConfig()
    deduper = Deduper(stores, config)
    out = []
    for n, item in enumerate(items):
        prep = prepare(item, config, None, default_day=0)
        answers = Answers.gather(prep, [deduper.lookups.answer(q) for q in questions(prep, n, 0)])
        if crash_at is not None and crash_at[0] == n:
            log = stores.outcomes.log  # type: ignore[attr-defined]
            log.budget, log.count = crash_at[1], 0
            with pytest.raises(Crash):
                Decider(stores, config).decide(n, prep, answers)
            log.budget = None
        out.append(Decider(stores, config).decide(n, prep, answers))
    return out


def logged_stores(log: Log) -> DedupStores:
    stores = DedupStores()
    for name in DECIDER_STORES:
        setattr(stores, name, Logged(log))
    return stores


@pytest.mark.parametrize("article", [0, 5, 7])
def test_a_decision_cut_short_at_any_write_is_completed_or_redone_never_doubled(
    article: int,
) -> None:
    items = articles()
    reference = logged_stores(Log())
    expected = run(items, reference)
    expected_state = {name: dict(getattr(reference, name)) for name in DECIDER_STORES}
    # How many writes the decision of `article` makes, all told.
    counts = []
    for n in (article, article + 1):
        probe = logged_stores(Log())
        run(items[:n], probe)
        counts.append(probe.outcomes.log.count)  # type: ignore[attr-defined]
    writes = counts[1] - counts[0]
    assert writes >= 4  # the log, the outcome, the sketch, the progress record, ...
    for budget in range(writes):
        stores = logged_stores(Log())
        assert run(items, stores, crash_at=(article, budget)) == expected, budget
        state = {name: dict(getattr(stores, name)) for name in DECIDER_STORES}
        assert state == expected_state, budget


def test_logged_seq_reads_the_head_as_decoding_would() -> None:
    writes: list[tuple[str, str, str | bytes | None]] = [
        ("outcomes", "7", 'x,"seq":9'),
        ("sketches", "7", b"\x00,\xff"),
        ("terms", "e:a", None),
    ]
    for seq in (0, 7, 123456789):
        raw = encode_writes(seq, writes)
        assert logged_seq(raw) == decode_writes(raw)[0] == seq
    # Written otherwise (spaced, keys in another order): decoded in full.
    assert logged_seq('{"ops": [], "seq": 5}') == 5
    assert logged_seq('{"seq": 6, "ops": []}') == 6


def test_overlay_get_is_item_lookup_with_a_default() -> None:
    for base in ({"a": "1", "b": "2"}, Logged(Log())):
        base.update({"a": "1", "b": "2"})
        view: Overlay[str] = Overlay(base)
        view["c"] = "3"
        del view["b"]
        assert [view.get(k) for k in "abcd"] == ["1", None, "3", None]
        assert view.get("b", "none") == "none" and view.get("d", "none") == "none"
        assert ("a" in view, "b" in view, "c" in view) == (True, False, True)
