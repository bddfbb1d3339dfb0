"""Which held partitions has the consumer stopped handing out, although records wait?

faust-streaming can stop feeding a partition for good while the worker runs on: the
10,000-page burst of `make soak` left the enricher idle with 626 records behind on three
of its four partitions and their offsets frozen, until a restart (faust-streaming issue
175, "Consumers slowly die over time", open). Its flow control drops a partition from
the fetch set when the stream buffer fills and puts it back from a callback when the
buffer drains; anything that loses that callback, or a record the fetch loop drops after
the client consumed it, leaves the partition out with nothing to bring it back.

This module only decides, from what the worker observes every few seconds; the worker
(services.common.faustapp) acts: it seeks a suspect partition back to its committed
offset, and fails its liveness probe when that did not help, so the orchestrator
restarts it (a restart always recovered).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Observed:
    """One partition as the worker sees it at one moment."""

    #: High-water mark minus the committed offset (what the group has not finished).
    lag: int
    committed: int | None
    #: Records handed out to the stream since the assignment (a count: a repair's seek
    #: does not reset it).
    handed: int
    #: The offset of the first record handed out since the assignment or the last seek.
    first_offset: int | None
    #: Records of it are handed out and not acknowledged, or its stream buffer holds
    #: records: the agent has work, and a quiet partition is then no sign of a stall.
    waiting: bool

    @property
    def progress(self) -> tuple[int | None, int]:
        return self.committed, self.handed


class Verdict(enum.Enum):
    OK = "ok"
    #: Records behind, nothing handed out or finished for `after_s`, the agent idle:
    #: seek it back to its committed offset (`repairing`) and watch.
    SUSPECT = "suspect"
    #: Records handed out after a repair that were on the partition before it: the
    #: consumer had stopped feeding them (count it).
    RECOVERED = "recovered"
    #: Still nothing handed out `after_s` after a repair: the caller decides whether the
    #: lag is records (the repair failed) or only transaction markers (all read).
    STILL_QUIET = "still_quiet"


@dataclass
class _Track:
    progress: tuple[int | None, int]
    since: float
    repaired_at: float | None = None
    #: The high-water mark when repaired: records below it were there before.
    repaired_below: int = 0
    #: After STILL_QUIET: leave it alone until it moves.
    settled: bool = False


class StallWatch:
    """Per partition, how long it has had records behind without moving."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self._tracks: dict[Hashable, _Track] = {}

    def check(self, key: Hashable, seen: Observed, now: float) -> Verdict:
        track = self._tracks.get(key)
        if track is None or track.progress != seen.progress:
            recovered = (
                track is not None
                and track.repaired_at is not None
                and not track.settled
                and seen.handed != track.progress[1]
                and seen.first_offset is not None
                and seen.first_offset < track.repaired_below
            )
            self._tracks[key] = _Track(seen.progress, now)
            return Verdict.RECOVERED if recovered else Verdict.OK
        if seen.lag <= 0 or seen.waiting or track.settled:
            if track.repaired_at is None:
                track.since = now  # nothing to read, or the agent busy: no accusation
            return Verdict.OK
        if track.repaired_at is not None:
            if now - track.repaired_at < self.after_s:
                return Verdict.OK
            track.settled = True
            return Verdict.STILL_QUIET
        if now - track.since < self.after_s:
            return Verdict.OK
        return Verdict.SUSPECT

    def repairing(self, key: Hashable, now: float, highwater: int) -> None:
        """The caller sought `key` back to its committed offset at `now`."""
        track = self._tracks[key]
        track.repaired_at = now
        track.repaired_below = highwater

    def forget(self, keep: Iterable[Hashable]) -> None:
        """Drop partitions no longer held (revoked: the next owner watches them)."""
        kept = set(keep)
        for key in [k for k in self._tracks if k not in kept]:
            del self._tracks[key]
