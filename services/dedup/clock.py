"""The stream's day at each sequence number, kept where the sequence is numbered.

Retention counts in the stream's own time: the latest arrival (capture) day of the
articles decided so far (`engine.stream_day`). The lookups and the decider must agree
on it for every article, whichever of them restarted, so it is computed once, where
the articles are numbered (the ask hop, in sequence order), and travels with the
article's questions and its head.

A redelivered record is asked again with the day it had the first time: the clock
keeps the sequence numbers where it moved forward (a few per day of stream time: it
moves in whole days) and answers for any earlier number from them. Nothing here knows
Kafka; the agent gives it a table partition as `store`.

store: key "days", value "<seq>:<day>,..." the points where the day moved, ascending.
"""

from __future__ import annotations

import bisect
from collections.abc import MutableMapping

KEY = "days"
# The sweeps run this many days behind the clock: a record redelivered from just before
# the clock moved still finds what it found the first time (sweeps.py, versions.py).
SWEEP_LAG_DAYS = 1
# Points kept: each is a day the stream moved to (a live stream makes one a day, a
# backfill one per archived day). A redelivery reaches back minutes, not months.
KEEP = 400


class StreamClock:
    def __init__(self, store: MutableMapping[str, str], keep: int = KEEP, key: str = KEY) -> None:
        self.store = store
        self.keep = keep
        self.key = key  # one clock per decision sequence, each under a key of its own
        self._raw: str | None = None
        self._seqs: list[int] = []
        self._days: list[int] = []

    def _load(self) -> None:
        raw = self.store.get(self.key) or ""
        if raw == self._raw:
            return
        self._raw = raw
        points = [p.partition(":") for p in raw.split(",") if p]
        self._seqs = [int(s) for s, _, _ in points]
        self._days = [int(d) for _, _, d in points]

    def day_at(self, seq: int, arrived: int | None) -> int:
        """The stream's day once article `seq`, which arrived on day `arrived`, is in.

        The same answer for the same `seq` however often it is asked: for a number
        asked before, from the points recorded since; for a new one, the clock moves
        forward (never back) and records where."""
        self._load()
        at = bisect.bisect_right(self._seqs, seq)
        before = self._days[at - 1] if at else None
        day = max((d for d in (before, arrived) if d is not None), default=0)
        newest = self._seqs[-1] if self._seqs else -1
        if seq > newest and (before is None or day > before):
            seqs, days = [*self._seqs, seq][-self.keep :], [*self._days, day][-self.keep :]
            raw = ",".join(f"{s}:{d}" for s, d in zip(seqs, days, strict=True))
            self.store[self.key] = raw
            self._raw, self._seqs, self._days = raw, seqs, days
        return day
