"""Dedup's keyed lookups: URL key, content hash, LSH band key and story key, each its own
store.

Every article in the decision sequence asks one question per key it has (its URL key,
its content hash, each of its band keys and story keys), and the answer is about the
articles that came *before it in the sequence*: the one holding the same URL key, the
first with the same text, those filed under the same band key or story key. Each
question is answered and the asker filed in one step, by whoever holds that key's
partition; since a key's questions arrive in sequence order, and the stored entries
carry their sequence numbers, an answer depends on the sequence alone, not on which
worker answers or how often a question is redelivered.

Keys keep only their latest entries, and a question can be answered again after later
articles filed under its key (its answer never reached the broker, the holder restarted
after answering theirs): so each question carries the decider's floor, the lowest
sequence number it has not decided, and a key keeps every entry at or above it
(`lsh.kept_from`). Below the floor nothing is asked again whose answer still counts:
the decider already has every answer of a decided article, read from the broker.

* urls:   key = URL key     value = "<seq>:<day>,..." in sequence order: the latest few
          below the decider's floor, every one at or above it (lsh.kept_from)
* hashes: key = content hash  value = "<seq>:<day>" of the first article with that text
* bands:  key = band key    packed postings (lsh.BandIndex)
* story_keys: key = story feature (cluster.lookup_keys)  packed postings, as bands
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Literal

from services.dedup.config import DedupConfig
from services.dedup.lsh import BandIndex, kept_from

Kind = Literal["url", "hash", "band", "story"]
# URL versions remembered per URL key below the decider's floor (an answer is the latest
# earlier one; a few more for questions without a floor, asked again after a few later
# versions of the same URL were filed).
URL_VERSIONS = 4


@dataclass(frozen=True)
class Question:
    seq: int
    kind: Kind
    key: str
    day: int
    # The decider's lowest undecided sequence number when the question was asked; None
    # in a record from before questions carried it (keys trimmed as they were then).
    floor: int | None = None


@dataclass(frozen=True)
class Answer:
    seq: int
    kind: Kind
    key: str
    found: tuple[int, ...]  # earlier sequence numbers (url, hash: at most one)


def _entries(raw: str | None) -> list[tuple[int, int]]:
    if not raw:
        return []
    return [(int(s), int(d)) for s, _, d in (e.partition(":") for e in raw.split(","))]


def _text(entries: list[tuple[int, int]]) -> str:
    return ",".join(f"{s}:{d}" for s, d in entries)


class Lookups:
    def __init__(
        self,
        urls: MutableMapping[str, str],
        hashes: MutableMapping[str, str],
        bands: MutableMapping[str, bytes],
        story_keys: MutableMapping[str, bytes],
        config: DedupConfig,
    ) -> None:
        self.urls = urls
        self.hashes = hashes
        self.bands = BandIndex(bands, config)
        self.story_keys = BandIndex(story_keys, config, cap=config.story_postings)
        self.config = config

    def answer(self, q: Question) -> Answer:
        if q.kind == "url":
            found = self._url(q)
        elif q.kind == "hash":
            found = self._hash(q)
        elif q.kind == "band":
            found = tuple(self.bands.lookup(q.key, q.seq, q.day, q.floor))
        else:
            found = tuple(self.story_keys.lookup(q.key, q.seq, q.day, q.floor))
        return Answer(q.seq, q.kind, q.key, found)

    def _url(self, q: Question) -> tuple[int, ...]:
        """The latest earlier article with this URL key."""
        cutoff = q.day - self.config.retention_days
        entries = [(s, d) for s, d in _entries(self.urls.get(q.key)) if d >= cutoff]
        earlier = [s for s, _ in entries if s < q.seq]
        if q.seq not in (s for s, _ in entries):
            entries = sorted([*entries, (q.seq, q.day)])
            drop = kept_from([s for s, _ in entries], URL_VERSIONS, q.floor)
            self.urls[q.key] = _text(entries[drop:])
        return (earlier[-1],) if earlier else ()

    def _hash(self, q: Question) -> tuple[int, ...]:
        """The first earlier article with this text."""
        entries = _entries(self.hashes.get(q.key))
        if entries and entries[0][1] >= q.day - self.config.retention_days:
            first = entries[0][0]
            return (first,) if first < q.seq else ()
        self.hashes[q.key] = _text([(q.seq, q.day)])
        return ()

    def sweep(self, day: int, owns: Callable[[str], bool] | None = None) -> int:
        """Forget entries older than the retention window (of keys `owns` accepts)."""
        cutoff = day - self.config.retention_days
        removed = 0
        for store in (self.urls, self.hashes):
            for key, raw in list(store.items()):
                if owns is not None and not owns(key):
                    continue
                entries = _entries(raw)
                kept = [(s, d) for s, d in entries if d >= cutoff]
                if len(kept) == len(entries):
                    continue
                removed += len(entries) - len(kept)
                if kept:
                    store[key] = _text(kept)
                else:
                    del store[key]
        return removed + self.bands.sweep(day, owns) + self.story_keys.sweep(day, owns)
