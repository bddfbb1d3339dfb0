"""`newswire reprocess`, the pure half: which stage reads and writes which topic, what
`--since`/`--until` mean, which offsets of each partition are read again, which of the
records there are taken, and the counts shown while it runs. No Kafka here
(reprocess.py reads, runs the stage's own function and sends).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.backfill.display import per_second, share_head
from services.common.topics import ARTICLES, ENRICHED, PAGES, TopicSpec


@dataclass(frozen=True)
class StageTopics:
    source: TopicSpec
    output: TopicSpec


STAGES: dict[str, StageTopics] = {
    "cleaner": StageTopics(PAGES, ARTICLES),
    "enricher": StageTopics(ARTICLES, ENRICHED),
}

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime) -> datetime:
    """An ISO time (UTC when it names no zone) or a span back from `now`: `90m`, `6h`,
    `2d`, `1w`. ValueError for anything else."""
    found = _RELATIVE.match(text)
    if found:
        amount, unit = float(found.group(1)), found.group(2)
        return now - timedelta(**{_UNITS[unit]: amount})
    when = datetime.fromisoformat(text.strip())
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@dataclass(frozen=True)
class Span:
    """Offsets [start, stop) of one partition to read again."""

    partition: int
    start: int
    stop: int

    @property
    def count(self) -> int:
        return max(0, self.stop - self.start)


def plan_offsets(
    beginnings: Mapping[int, int],
    ends: Mapping[int, int],
    at_since: Mapping[int, int | None],
    at_until: Mapping[int, int | None] | None = None,
) -> list[Span]:
    """Per partition, the offsets to read: from the first record stamped at or after
    `--since` (`at_since`: the broker's offsets_for_times answer; None, no such record:
    nothing) to the first stamped at or after `--until` (None, or no `--until`: the end
    when the run began, so records produced meanwhile, its own included when a stage
    writes where it reads, are not chased). Records already deleted by retention are
    skipped (the start is raised to the partition's beginning). Empty spans are left out.
    """
    spans = []
    for partition in sorted(ends):
        start = at_since.get(partition)
        if start is None:
            continue
        start = max(start, beginnings.get(partition, 0))
        stop = ends[partition]
        until = (at_until or {}).get(partition)
        if until is not None:
            stop = min(stop, until)
        if start < stop:
            spans.append(Span(partition, start, stop))
    return spans


class Latest:
    """The last offset of each key from the window's start to the end when the run
    began. Both input topics are keyed by article id, and only an article's last record
    is its current version: taking an older one again would send its old text on, and
    dedup would take that for an update back to it."""

    def __init__(self) -> None:
        self._last: dict[bytes, tuple[int, int]] = {}

    def see(self, key: bytes | None, partition: int, offset: int) -> None:
        if key is not None:
            self._last[key] = (partition, offset)

    def superseded(self, key: bytes | None, partition: int, offset: int) -> bool:
        """Whether a later record of the same key was seen."""
        if key is None:
            return False
        last = self._last.get(key)
        return last is not None and last != (partition, offset)


@dataclass(frozen=True)
class Window:
    """Which records of the spans are taken again: stamped within [since, until).

    Offsets are found by timestamp, but a producer's clock can put an earlier stamp
    after a later one; those outside the window are counted and left.
    """

    since_ms: int
    until_ms: int | None = None

    def __contains__(self, timestamp_ms: int) -> bool:
        return timestamp_ms >= self.since_ms and (
            self.until_ms is None or timestamp_ms < self.until_ms
        )


@dataclass
class Counts:
    """What one run did."""

    planned: int = 0  # records in the spans
    read: int = 0
    processed: int = 0  # handed to the stage's function
    sent: int = 0  # records of the stage's output topic
    dead_letters: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self, seconds: float) -> dict[str, object]:
        return {
            "planned": self.planned,
            "read": self.read,
            "processed": self.processed,
            "sent": self.sent,
            "dead_letters": self.dead_letters,
            "skipped": dict(sorted(self.skipped.items())),
            "seconds": round(seconds, 3),
            "records_per_s": round(self.read / seconds, 1) if seconds > 0 else None,
        }


def progress_line(counts: Counts, seconds: float, current: str, *, bar: bool) -> str:
    head = share_head(counts.read, counts.planned, bar=bar)
    return (
        f"{head} {counts.read}/{counts.planned} records "
        f"{per_second(counts.read, seconds):.0f}/s, "
        f"{counts.sent} sent, {sum(counts.skipped.values())} skipped, "
        f"{counts.dead_letters} dead-lettered  {current}"
    )


def summary_lines(counts: Counts, seconds: float, output: str, *, dry_run: bool) -> list[str]:
    if dry_run:
        return [f"would read {counts.planned} records again (nothing sent: --dry-run)"]
    lines = [
        f"{counts.read} of {counts.planned} records read in {seconds:.1f} s "
        f"({per_second(counts.read, seconds):.0f}/s), {counts.processed} processed",
        f"sent to {output}: {counts.sent}; dead-lettered: {counts.dead_letters}",
    ]
    if counts.skipped:
        lines.append("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.skipped.items())))
    return lines
