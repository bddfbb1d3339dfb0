"""`newswire dlq`'s choice of dead letters: by stage, reason, time and id, counted, and
which of them may be sent back."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from services.common.models import DeadLetter
from services.ops.deadletters import Letter, Selection, counts, why_not_replayable

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def letter(n: int, stage: str, reason: str, *, minutes: int = 0, **extra: object) -> Letter:
    data = {
        "stage": stage,
        "reason": reason,
        "error": "E: x",
        "source_topic": "newswire.pages",
        "source_partition": 0,
        "source_offset": n,
        "key": f"k{n}",
        "original_b64": base64.b64encode(b"{}").decode(),
        "failed_at": T0 + timedelta(minutes=minutes),
        **extra,
    }
    return Letter(f"0:{n}", DeadLetter.model_validate(data))


LETTERS = [
    letter(1, "cleaner", "timeout"),
    letter(2, "cleaner", "timeout", minutes=10),
    letter(3, "cleaner", "decode", minutes=20),
    letter(4, "fetcher", "http_status", minutes=30),
]


def test_a_selection_holds_every_condition_given() -> None:
    def ids(select: Selection) -> list[str]:
        return [item.id for item in LETTERS if select(item)]

    assert ids(Selection()) == ["0:1", "0:2", "0:3", "0:4"]
    assert ids(Selection(stages=frozenset({"cleaner"}), reasons=frozenset({"timeout"}))) == [
        "0:1",
        "0:2",
    ]
    window = Selection(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=30))
    assert ids(window) == ["0:2", "0:3"]  # since inclusive, until exclusive
    assert ids(Selection(ids=frozenset({"0:4", "9:9"}))) == ["0:4"]


def test_counts_per_stage_and_reason_with_first_and_last() -> None:
    rows = counts(LETTERS)
    assert rows[0] == ("cleaner", "timeout", 2, T0, T0 + timedelta(minutes=10))
    assert {(s, r, n) for s, r, n, _, _ in rows} == {
        ("cleaner", "timeout", 2),
        ("cleaner", "decode", 1),
        ("fetcher", "http_status", 1),
    }


def test_what_is_not_sent_back_and_why() -> None:
    assert why_not_replayable(LETTERS[0], set()) is None
    assert why_not_replayable(LETTERS[0], {"0:1"}) == "replayed before"
    cut = letter(5, "cleaner", "too_large", original_truncated=True)
    assert why_not_replayable(cut, set()).startswith("original truncated")  # type: ignore[union-attr]
    nowhere = letter(6, "cleaner", "decode", source_topic=None)
    assert why_not_replayable(nowhere, set()) == "no source topic"
