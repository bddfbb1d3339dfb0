"""Which arrivals are replays, told where the sequence is numbered (the ask hop).

A replay is an article arriving again as it was: the same id and text as the latest
version of its URL. A feed lists it again, or work upstream is redone after a crash (an
enricher re-sending what it sent before it was killed, the router numbering an article
a second time). Its decision is the one made before (`engine.Decider._known_url`). But
if it also filed its band and story keys as a new arrival does, those postings would
take places among each key's latest `cap` and push out what later articles would have
found there: the same articles, with and without a crash upstream, would be decided
differently (seen: a near copy matched another copy of its original, not the
original). So a replay asks only its URL question, which finds the version it repeats,
and later decisions are the same however often anything arrives again.

Told in sequence order from the versions of each URL key numbered so far, the latest
few below the decider's floor and every one at or above it (as `lsh.kept_from` keeps
postings): a record told again (its ask hop restarted) is told as the first time, from
the versions numbered before it. Replays are not filed: a version is the first arrival
of a text at its URL.

store: key = URL key   value = "<seq>:<day>:<digest>:<id hash>,..." ascending by seq
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass

from services.dedup.clock import SWEEP_LAG_DAYS
from services.dedup.lsh import kept_from

# Versions remembered per URL key below the decider's floor: a replay repeats the latest.
KEEP = 4
# Of the content hash: enough to tell a text from its next version.
DIGEST_CHARS = 16


@dataclass(frozen=True)
class Version:
    seq: int
    day: int
    digest: str
    ident: str  # a hash of the article id (ids are any text; the store's is fixed)

    def text(self) -> str:
        return f"{self.seq}:{self.day}:{self.digest}:{self.ident}"


def ident_of(article_id: str) -> str:
    return hashlib.sha256(article_id.encode()).hexdigest()[:16]


def _text(entries: list[Version]) -> str:
    return ",".join(v.text() for v in entries)


def _parse(raw: str | None) -> list[Version]:
    if not raw:
        return []
    out = []
    for entry in raw.split(","):
        seq, day, digest, ident = entry.split(":")
        out.append(Version(int(seq), int(day), digest, ident))
    return out


class Versions:
    def __init__(self, store: MutableMapping[str, str], retention_days: int) -> None:
        self.store = store
        self.retention_days = retention_days
        self._swept = -1  # the day last swept to (in memory: after a restart, once more)

    def replay(
        self,
        url_key: str,
        digest: str,
        article_id: str,
        seq: int,
        day: int,
        floor: int | None = None,
    ) -> bool:
        """Whether article `seq` (on the stream's `day`) repeats the latest version of its
        URL numbered before it, unexpired; files it as a version when it does not."""
        self.sweep(day)
        entries = _parse(self.store.get(url_key))
        earlier = [v for v in entries if v.seq < seq]
        ident = ident_of(article_id)
        digest = digest[:DIGEST_CHARS]
        if earlier:
            latest = earlier[-1]
            if (
                latest.day >= day - self.retention_days
                and latest.digest == digest
                and latest.ident == ident
            ):
                if day > latest.day:
                    # Seen on this day: as the URL lookup counts a replay's own entry, the
                    # version stays unexpired from its latest arrival.
                    at = entries.index(latest)
                    entries[at] = Version(latest.seq, day, digest, ident)
                    self.store[url_key] = _text(entries)
                return True
        if all(v.seq != seq for v in entries):
            entries = sorted([*entries, Version(seq, day, digest, ident)], key=lambda v: v.seq)
            drop = kept_from([v.seq for v in entries], KEEP, floor)
            self.store[url_key] = _text(entries[drop:])
        return False

    def sweep(self, day: int) -> int:
        """Forget versions filed before the retention window, once per day of the clock."""
        day -= SWEEP_LAG_DAYS
        if day <= self._swept:
            return 0
        self._swept = day
        cutoff = day - self.retention_days
        removed = 0
        for key, raw in list(self.store.items()):
            entries = _parse(raw)
            kept = [v for v in entries if v.day >= cutoff]
            if len(kept) == len(entries):
                continue
            removed += len(entries) - len(kept)
            if kept:
                self.store[key] = _text(kept)
            else:
                del self.store[key]
        return removed
