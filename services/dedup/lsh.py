"""The near-duplicate index, in two halves that can live in different workers.

* `BandIndex` (lookup side, partitioned by band key): which earlier articles share a
  band key. A lookup answers with the articles filed before the asking one and files
  it, in one step, so that answering is a function of the sequence alone: asked
  again for the same article (a redelivery), it gives the same answer.
* `SketchIndex` (decision side): each article's sketch by its sequence number, used to
  verify the candidates the band lookups found.

`NearDupIndex` puts both in one process (`newswire cluster`, tests, the benchmark).
Values are packed bytes because this index is the part of dedup's state that grows
with every article (under 200 bytes per article with the default 7 bands, see
`index_bytes`).

* bands:    key = band key, 11 characters (base64url of the 64-bit key)
            value = postings, 10 bytes each: sequence number (uint64) + day (uint16),
            in sequence order: the latest `band_postings` below the decider's floor and
            every one at or above it (`kept_from`)
* sketches: key = sequence number (decimal)
            value = day (uint16) + shingle count (uint16) + signature (64 bytes)
            + URL ref (8 bytes, `url_ref`) + the sequence number of the article a match
            stands for (uint64: itself, or the original when it is a duplicate)

Days count from the Unix epoch; a record older than the retention window is treated
as absent (and sketches deleted when met); `sweep` removes the rest.
"""

from __future__ import annotations

import binascii
import bisect
import hashlib
import struct
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass

import numpy as np

from services.dedup.config import DedupConfig
from services.dedup.neardup import BINS, Similarity, Sketch, similarity

_POSTING = struct.Struct(">QH")
_SEQ = struct.Struct(">Q")  # a posting's sequence number
_POSTING_DTYPE = np.dtype([("seq", ">u8"), ("day", ">u2")])
_HEAD = struct.Struct(">HH")
_TAIL = struct.Struct(">8sQ")
_FIXED = _HEAD.size + BINS  # a sketch record's day, shingles and signature
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ONES = np.ones(BINS, dtype=np.uint8)
# Estimated Jaccard by the number of agreeing bins (as `neardup.similarity`).
_JACCARD = tuple(similarity(m, 1, 1).jaccard for m in range(BINS + 1))
# A key keeps at most this many times its cap of postings, however far the decider's
# floor lags (a stalled decider, a backlog): memory and each write's size stay bounded.
# Only an answer asked again after more than that many later postings can then change.
CEILING_FACTOR = 64


def kept_from(seqs: list[int], cap: int, floor: int | None) -> int:
    """How many of a key's oldest postings (`seqs`, ascending) to drop.

    An answer is the latest `cap` postings before the asking article. Every question
    that can still be asked again, and whose answer the decider still needs, is at or
    above the decider's floor (the lowest sequence number it has not decided): so keep
    every posting at or above it, and the latest `cap` below it, which its lowest
    question may need. Without a floor (a record from before questions carried one),
    the latest `cap`, as before."""
    below = len(seqs) if floor is None else bisect.bisect_left(seqs, floor)
    return dropped(len(seqs), below, cap)


def dropped(total: int, below: int, cap: int) -> int:
    """`kept_from` once the postings under the floor are counted: `below` of `total`."""
    return max(below - cap, total - cap * CEILING_FACTOR, 0)


def b64key(raw: bytes) -> str:
    """base64url without padding (binascii directly: the base64 module's wrappers cost more
    than the encoding, on a path taken ten times per article)."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def band_key(key: int) -> str:
    return b64key(key.to_bytes(8, "big"))


def band_names(sketch: Sketch) -> tuple[str, ...]:
    if len(sketch.band_names) == len(sketch.band_keys):
        return sketch.band_names
    return tuple(band_key(key) for key in sketch.band_keys)


def url_ref(url_key: str) -> bytes:
    """8 bytes standing for a URL key in a sketch record (to skip an article's own
    earlier versions)."""
    return hashlib.sha256(url_key.encode()).digest()[:8]


@dataclass(frozen=True)
class SketchRecord:
    day: int
    shingles: int
    signature: bytes
    url_ref: bytes
    stands_for: int

    def pack(self) -> bytes:
        return (
            _HEAD.pack(self.day, self.shingles)
            + self.signature
            + _TAIL.pack(self.url_ref, self.stands_for)
        )

    @classmethod
    def unpack(cls, raw: bytes) -> SketchRecord:
        day, shingles = _HEAD.unpack_from(raw)
        ref, stands_for = _TAIL.unpack_from(raw, _FIXED)
        return cls(day, shingles, raw[_HEAD.size : _FIXED], ref, stands_for)


@dataclass(frozen=True)
class Match:
    seq: int  # the article a match stands for (the original), by sequence number
    similarity: Similarity


def _below(raw: bytes, total: int, seq: int) -> int:
    """How many of the `total` postings in `raw` are below `seq`, counted from the newest:
    few are at or above it (those filed after a redelivered question, or above the
    decider's floor), where unpacking them all would cost more."""
    at = total
    while at and _SEQ.unpack_from(raw, _POSTING.size * at - _POSTING.size)[0] >= seq:
        at -= 1
    return at


class BandIndex:
    """Band key -> the articles filed under it; lookups are keyed by band key. (The
    story keys, features -> articles, are postings of the same kind.)"""

    def __init__(
        self, bands: MutableMapping[str, bytes], config: DedupConfig, cap: int | None = None
    ) -> None:
        self.bands = bands
        self.config = config
        self.cap = cap or config.band_postings

    def lookup(self, name: str, seq: int, day: int, floor: int | None = None) -> list[int]:
        """The latest `cap` articles filed under `name` before `seq` (oldest first,
        unexpired); files `seq`, keeping what questions at or above `floor` (the
        decider's) may ask again (`kept_from`).

        The answer depends on `seq` alone, however often it is asked: in an undisturbed
        run every posting is earlier than the asking article, so it is what keeping the
        latest `cap` gave; asked again after later articles filed, the earlier postings
        it found are still there. Plain struct unpacking of the `cap` postings answered
        and the few counted back, a few dozen keys per article, where numpy's per-call
        overhead would cost several times the work."""
        raw = self.bands.get(name, b"")
        if not raw and self.cap > 0:
            # A key's first posting (most keys of a new article): nothing to answer or trim.
            self.bands[name] = _POSTING.pack(seq, day)
            return []
        size = _POSTING.size
        total = len(raw) // size
        # Postings filed before `seq`: all of them but in a redelivery, so count back.
        at = _below(raw, total, seq)
        cutoff = day - self.config.retention_days
        cap = self.cap
        latest = raw[size * (at - cap) : size * at] if at > cap else raw[: size * at]
        found = [filed for filed, filed_day in _POSTING.iter_unpack(latest) if filed_day >= cutoff]
        if at < total:
            if _SEQ.unpack_from(raw, size * at)[0] == seq:
                return found  # already filed: a redelivery gets the same answer
            # Postings stay in sequence order.
            raw = raw[: size * at] + _POSTING.pack(seq, day) + raw[size * at :]
        else:
            raw += _POSTING.pack(seq, day)
        total += 1
        if total > cap:
            below = total if floor is None else _below(raw, total, floor)
            drop = dropped(total, below, cap)
            if drop:
                raw = raw[size * drop :]
        self.bands[name] = raw
        return found

    def sweep(self, day: int, owns: Callable[[str], bool] | None = None) -> int:
        """Drop postings older than the retention window (of keys `owns` accepts)."""
        cutoff = day - self.config.retention_days
        removed = 0
        for name, raw in list(self.bands.items()):
            if owns is not None and not owns(name):
                continue
            postings = np.frombuffer(raw, dtype=_POSTING_DTYPE)
            kept = postings[postings["day"] >= cutoff]
            if len(kept) == len(postings):
                continue
            removed += len(postings) - len(kept)
            if len(kept):
                self.bands[name] = kept.tobytes()
            else:
                del self.bands[name]
        return removed


class SketchIndex:
    """Sequence number -> sketch; verifies band candidates against a new sketch."""

    def __init__(self, sketches: MutableMapping[str, bytes], config: DedupConfig) -> None:
        self.sketches = sketches
        self.config = config

    def add(self, sketch: Sketch, seq: int, day: int, ref: bytes, stands_for: int) -> None:
        self.sketches[str(seq)] = (
            _HEAD.pack(day, sketch.shingles) + sketch.signature + _TAIL.pack(ref, stands_for)
        )

    def find(
        self,
        sketch: Sketch,
        candidates: Iterable[int],
        day: int,
        exclude: bytes | None = None,
    ) -> Match | None:
        """The best verified candidate: highest containment, then Jaccard, then the first
        met (all deterministic); candidates whose URL ref is `exclude` are skipped.

        The hot path of dedup: one store read per candidate, the agreeing bins of all of
        them in one vector operation, and no per-candidate objects."""
        keys = [str(s) for s in dict.fromkeys(candidates)][: self.config.max_candidates]
        if not keys:
            return None
        get_sketch = self.sketches.get
        fetched = [get_sketch(key) for key in keys]
        cutoff = day - self.config.retention_days
        found: list[bytes] = []
        for key, rec in zip(keys, fetched, strict=True):
            if rec is None:  # swept, expired and deleted, or its article was never decided
                continue
            if _HEAD.unpack_from(rec)[0] < cutoff:
                del self.sketches[key]  # past the retention window: absent, deleted when met
                continue
            found.append(rec)
        if not found:
            return None
        signatures = np.frombuffer(
            b"".join([rec[_HEAD.size : _FIXED] for rec in found]), dtype=np.uint8
        ).reshape(len(found), BINS)
        agree = (signatures == np.frombuffer(sketch.signature, dtype=np.uint8)).view(np.uint8)
        matching = (agree @ _ONES).tolist()
        # Verification: containment (then Jaccard) from the agreeing bins and the sizes,
        # as `similarity` computes them; only candidates with enough agreeing bins count.
        n = sketch.shingles
        least = self.config.min_matching_bins
        threshold = self.config.containment_threshold
        best = -1
        best_containment = best_jaccard = -1.0
        for i, agreeing in enumerate(matching):
            if agreeing < least:
                continue
            jaccard = _JACCARD[agreeing]
            size = _HEAD.unpack_from(found[i])[1]
            smaller = size if size < n else n
            containment = jaccard * (size + n) / (1.0 + jaccard) / (smaller if smaller > 1 else 1)
            if containment > 1.0:
                containment = 1.0
            if containment < threshold or containment < best_containment:
                continue
            if containment == best_containment and jaccard <= best_jaccard:
                continue
            if exclude is not None and found[i][_FIXED : _FIXED + 8] == exclude:
                continue  # the article itself, filed by an earlier version
            best, best_containment, best_jaccard = i, containment, jaccard
        if best < 0:
            return None
        record = SketchRecord.unpack(found[best])
        return Match(record.stands_for, similarity(matching[best], n, record.shingles))

    def sweep(self, day: int) -> int:
        cutoff = day - self.config.retention_days
        expired = [k for k, v in self.sketches.items() if _HEAD.unpack_from(v)[0] < cutoff]
        for key in expired:
            del self.sketches[key]
        return len(expired)


class NearDupIndex:
    """Both halves in one process: look a sketch up (filing it under its band keys), then
    keep its sketch with what it stands for."""

    def __init__(
        self,
        bands: MutableMapping[str, bytes],
        sketches: MutableMapping[str, bytes],
        config: DedupConfig,
    ) -> None:
        self.bands = BandIndex(bands, config)
        self.sketches = SketchIndex(sketches, config)

    def candidates(self, sketch: Sketch, seq: int, day: int) -> list[int]:
        out: list[int] = []
        for name in band_names(sketch):
            out.extend(self.bands.lookup(name, seq, day))
        return out

    def find(
        self, sketch: Sketch, seq: int, day: int, exclude: bytes | None = None
    ) -> Match | None:
        return self.sketches.find(sketch, self.candidates(sketch, seq, day), day, exclude)

    def add(self, sketch: Sketch, seq: int, day: int, ref: bytes, stands_for: int) -> None:
        self.sketches.add(sketch, seq, day, ref, stands_for)

    def sweep(self, day: int) -> int:
        return self.bands.sweep(day) + self.sketches.sweep(day)


def index_bytes(*stores: MutableMapping[str, bytes]) -> int:
    """Key and value bytes held by the stores (what a changelog or RocksDB would hold)."""
    return sum(len(k.encode()) + len(v) for store in stores for k, v in store.items())
