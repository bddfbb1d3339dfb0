"""Resume state of `newswire backfill`: where to start in each file, and the rate bound.

A file is known by its key, the SHA-256 of its first 64 KiB: the same file under
another path or name is the same file, and one still growing (the fetcher's archive
of the current hour) keeps its key once it has 64 KiB, so a later run reads only what
was added. A file under 64 KiB that grows gets a new key and is read again from the
start; the pages it sends again carry the same article ids, and dedup answers a page
it has decided before with the decision it gave (no new story record).

Progress is noted on the compacted topic newswire.backfill-progress only after the
broker acknowledged every record before that point, so a run that dies sends again at
most the records since its last note, and loses none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import DecodeError
from services.common.models import BackfillProgress, decode

KEY_BYTES = 64 * 1024


def file_key(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.sha256(fh.read(KEY_BYTES)).hexdigest()


@dataclass(frozen=True)
class Plan:
    """Where a run starts in one file: at byte `start`, the record numbered
    `skip_records`; nothing to do when `done`."""

    start: int = 0
    skip_records: int = 0
    done: bool = False


def plan(noted: BackfillProgress | None, size: int) -> Plan:
    if noted is None or size < noted.offset or (noted.done and size < noted.size):
        # New, or shorter than what was read: not the file the note is about.
        return Plan()
    if noted.done and size == noted.size:
        return Plan(noted.offset, noted.records, done=True)
    return Plan(noted.offset, noted.records)


def fold(records: Iterable[tuple[bytes | None, bytes | None]]) -> dict[str, BackfillProgress]:
    """The latest note per file key, from the topic's records in order (a tombstone
    forgets the file; an unreadable value is ignored)."""
    latest: dict[str, BackfillProgress] = {}
    for key, value in records:
        if key is None:
            continue
        name = key.decode("utf-8", "replace")
        if value is None:
            latest.pop(name, None)
            continue
        try:
            latest[name] = decode(BackfillProgress, value)
        except DecodeError:
            continue
    return latest


class RateLimit:
    """At most `per_s` records a second on average (0: unbounded), with bursts of at
    most `burst_s` seconds' worth after an idle spell. Time is passed in."""

    def __init__(self, per_s: float, burst_s: float = 0.1) -> None:
        self.interval = 1.0 / per_s if per_s > 0 else 0.0
        self.burst_s = burst_s
        self._next = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before sending one more record at time `now`."""
        if not self.interval:
            return 0.0
        self._next = max(self._next, now - self.burst_s)
        wait = max(0.0, self._next - now)
        self._next += self.interval
        return wait
