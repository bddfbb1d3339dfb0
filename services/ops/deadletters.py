"""`newswire dlq`, the pure half: dead letters as records with an id, chosen by stage,
reason, time or id, counted and shown. No Kafka here (dlq.py reads and sends).

A dead letter's id is where it sits on newswire.dlq, `partition:offset`: stable for as
long as the record is kept, and what newswire.dlq-replays remembers as replayed.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from services.common.models import DeadLetter


@dataclass(frozen=True)
class Letter:
    id: str
    letter: DeadLetter

    def original(self) -> bytes:
        return base64.b64decode(self.letter.original_b64)


@dataclass(frozen=True)
class Selection:
    """Which dead letters: every given condition must hold (none given: all)."""

    stages: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    ids: frozenset[str] = frozenset()

    def __call__(self, item: Letter) -> bool:
        d = item.letter
        return (
            (not self.stages or d.stage in self.stages)
            and (not self.reasons or d.reason in self.reasons)
            and (self.since is None or d.failed_at >= self.since)
            and (self.until is None or d.failed_at < self.until)
            and (not self.ids or item.id in self.ids)
        )


def letter_id(partition: int, offset: int) -> str:
    return f"{partition}:{offset}"


def counts(items: list[Letter]) -> list[tuple[str, str, int, datetime, datetime]]:
    """(stage, reason, count, first, last) per stage and reason, most first."""
    n: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], datetime] = {}
    last: dict[tuple[str, str], datetime] = {}
    for item in items:
        key = (item.letter.stage, item.letter.reason)
        n[key] += 1
        when = item.letter.failed_at
        first[key] = min(first.get(key, when), when)
        last[key] = max(last.get(key, when), when)
    return [(s, r, c, first[(s, r)], last[(s, r)]) for (s, r), c in n.most_common()]


def why_not_replayable(item: Letter, replayed: set[str]) -> str | None:
    """Why a selected dead letter is not sent back, or None when it is."""
    d = item.letter
    if item.id in replayed:
        return "replayed before"
    if not d.source_topic:
        return "no source topic"
    if d.original_truncated:
        return "original truncated (only its head was kept)"
    return None


def describe(item: Letter) -> str:
    """One dead letter in full: where it came from, the error, the original."""
    d = item.letter
    lines = [
        f"id        {item.id}",
        f"stage     {d.stage}",
        f"reason    {d.reason}",
        f"failed_at {d.failed_at.isoformat()}",
        f"source    {d.source_topic}[{d.source_partition}]@{d.source_offset} key={d.key}",
        f"error     {d.error}",
    ]
    raw = item.original()
    size = d.original_bytes if d.original_bytes is not None else len(raw)
    truncated = " (head only)" if d.original_truncated else ""
    lines.append(f"original  {size} bytes{truncated}:")
    try:
        lines.append(json.dumps(json.loads(raw), indent=2, ensure_ascii=False)[:20_000])
    except ValueError:
        lines.append(repr(raw[:2000]))
    return "\n".join(lines)


def summary_line(item: Letter) -> str:
    d = item.letter
    return (
        f"{item.id:>10}  {d.failed_at:%Y-%m-%d %H:%M:%S}  {d.stage:8} {d.reason:16} "
        f"{d.source_topic or '-'}  {d.key or '-'}"
    )
