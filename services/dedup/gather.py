"""Collect each article's lookup answers and release articles in sequence order.

The decider's input is one partition holding, interleaved, each article's head (the
article and how many answers it waits for) and the answers of the keyed lookups,
which come from whichever workers hold those keys. Heads arrive in sequence order
(one producer writes them); answers arrive in any order, before or after their head.
An article is ready when its head and all its answers are in and every earlier
article is decided.

Nothing here is durable: the records are acknowledged (and their offsets committed)
only once the article they belong to is decided and its verdict produced, so after a
crash or a rebalance they are read again and gathered anew. `tokens` are what the
caller acknowledges them by (Faust events).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from services.common.models import DedupAnswer, DedupSequenced
from services.dedup.lookups import Answer

T = TypeVar("T")


@dataclass
class Ready(Generic[T]):
    seq: int
    record: DedupSequenced
    answers: list[Answer]
    tokens: list[T]
    # Already decided before (a redelivery after a restart): produce its verdict again.
    decided: bool = False
    day: int | None = None  # the stream's day its lookups were asked at (the head's)


@dataclass
class _Pending(Generic[T]):
    record: DedupSequenced | None = None
    expect: int = 0
    day: int | None = None
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    tokens: list[T] = field(default_factory=list)

    def complete(self) -> bool:
        return self.record is not None and len(self.answers) >= self.expect


class Gatherer(Generic[T]):
    def __init__(self, last_decided: Callable[[], int]) -> None:
        self._last_decided = last_decided
        self._pending: dict[int, _Pending[T]] = {}
        self._heads: list[int] = []  # heap of sequence numbers whose head is in

    def __len__(self) -> int:
        return len(self._pending)

    def clear(self) -> None:
        """Forget everything (the partition was revoked: its records will be read again)."""
        self._pending.clear()
        self._heads.clear()

    def offer(self, answer: DedupAnswer, token: T) -> tuple[list[Ready[T]], list[T]]:
        """Take one record; the articles now ready, in sequence order, and the tokens of
        records that need nothing more (answers for articles decided before)."""
        seq = answer.seq
        if seq <= self._last_decided() and seq not in self._pending:
            if answer.kind == "head" and answer.record is not None:
                return [Ready(seq, answer.record, [], [token], decided=True)], []
            return [], [token]
        entry = self._pending.setdefault(seq, _Pending())
        entry.tokens.append(token)
        done: list[T] = []
        if answer.kind == "head":
            if entry.record is None and answer.record is not None:
                entry.record, entry.expect = answer.record, answer.expect or 0
                entry.day = answer.day
                heapq.heappush(self._heads, seq)
                # Answers still waiting without a head from before this one belong to
                # articles decided before the restart (their heads were committed).
                for old in [s for s, e in self._pending.items() if s < seq and e.record is None]:
                    done.extend(self._pending.pop(old).tokens)
        else:
            for one in answer.lookups:
                # The first answer stands. A question asked again (its ask hop restarted
                # before committing) is answered as the first time when it carries the
                # decider's floor (lookups.py), but not one from before questions carried
                # it, or asked after more later postings than a key keeps whatever the
                # floor (lsh.CEILING_FACTOR): that second answer can miss what the first
                # found, and an undisturbed run decides on the first. The first is always
                # read first: an article's records are acknowledged only once it is
                # decided, so a restarted decider reads them all again, in order.
                entry.answers.setdefault(
                    (one.kind, one.key), Answer(seq, one.kind, one.key, tuple(one.found))
                )
        ready: list[Ready[T]] = []
        while self._heads and self._pending[self._heads[0]].complete():
            first = heapq.heappop(self._heads)
            got = self._pending.pop(first)
            assert got.record is not None
            ready.append(
                Ready(first, got.record, list(got.answers.values()), got.tokens, day=got.day)
            )
        return ready, done
