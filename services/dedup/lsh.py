"""The near-duplicate index: LSH band postings and article sketches in two key-value stores.

Both stores are plain mappings so that a Faust table (keyed by band key, and by
sketch ref) can back each; values are packed bytes because this index is the part
of dedup's state that grows with every article (about 240 bytes per article with
the default 7 bands, see `index_bytes`).

* bands:    key = band key, 11 characters (base64url of the 64-bit key)
            value = postings, 10 bytes each: sketch ref (8 bytes) + day (uint16),
            oldest first, at most `band_postings` of them
* sketches: key = sketch ref, 11 characters (base64url of 8 bytes of SHA-256 of the
            article's URL key)
            value = day (uint16) + shingle count (uint16) + signature (64 bytes)
            + the URL key of the article it stands for (see `_pack_key`)

Days count from the Unix epoch; a record older than the retention window is treated
as absent and deleted when met, and `sweep` removes the rest.
"""

from __future__ import annotations

import binascii
import hashlib
import struct
from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np

from services.dedup.config import DedupConfig
from services.dedup.neardup import BINS, CHANCE, Similarity, Sketch, similarity

_POSTING = struct.Struct(">8sH")
_HEAD = struct.Struct(">HH")
_HEX_KEY_LEN = 32
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_POSTING_DTYPE = np.dtype([("ref", ">u8"), ("day", ">u2")])


def b64key(raw: bytes) -> str:
    """base64url without padding (binascii directly: the base64 module's wrappers cost more
    than the encoding, on a path taken ten times per article)."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def band_key(key: int) -> str:
    return b64key(key.to_bytes(8, "big"))


def sketch_ref(url_key: str) -> bytes:
    return hashlib.sha256(url_key.encode()).digest()[:8]


def _pack_key(url_key: str) -> bytes:
    """32 lower-case hex characters (our ids) as 16 bytes after a 0 flag; others as UTF-8."""
    if len(url_key) == _HEX_KEY_LEN:
        try:
            raw = bytes.fromhex(url_key)
        except ValueError:
            pass
        else:
            if raw.hex() == url_key:
                return b"\x00" + raw
    return b"\x01" + url_key.encode()


def _unpack_key(raw: bytes) -> str:
    return raw[1:].hex() if raw[:1] == b"\x00" else raw[1:].decode()


@dataclass(frozen=True)
class SketchRecord:
    day: int
    shingles: int
    signature: bytes
    url_key: str

    def pack(self) -> bytes:
        return _HEAD.pack(self.day, self.shingles) + self.signature + _pack_key(self.url_key)

    @classmethod
    def unpack(cls, raw: bytes) -> SketchRecord:
        day, shingles = _HEAD.unpack_from(raw)
        start = _HEAD.size
        return cls(day, shingles, raw[start : start + BINS], _unpack_key(raw[start + BINS :]))


@dataclass(frozen=True)
class Match:
    url_key: str  # the earlier article's URL key (whose record names its id and story)
    similarity: Similarity


def _postings(raw: bytes) -> list[tuple[bytes, int]]:
    return [_POSTING.unpack_from(raw, i) for i in range(0, len(raw), _POSTING.size)]


def _pack_postings(postings: list[tuple[bytes, int]]) -> bytes:
    return b"".join(_POSTING.pack(ref, day) for ref, day in postings)


class NearDupIndex:
    """Find an earlier near-duplicate of a sketch, and file sketches, in two stores."""

    def __init__(
        self,
        bands: MutableMapping[str, bytes],
        sketches: MutableMapping[str, bytes],
        config: DedupConfig,
    ) -> None:
        self.bands = bands
        self.sketches = sketches
        self.config = config

    def _sketch(self, ref: bytes, cutoff: int) -> SketchRecord | None:
        key = b64key(ref)
        raw = self.sketches.get(key)
        if raw is None:
            return None
        record = SketchRecord.unpack(raw)
        if record.day < cutoff:
            del self.sketches[key]
            return None
        return record

    def find(self, sketch: Sketch, day: int, exclude: str | None = None) -> Match | None:
        """The best verified earlier near-duplicate: highest containment, then Jaccard,
        then the earliest filed (all deterministic)."""
        cutoff = day - self.config.retention_days
        raw = b"".join(self.bands.get(band_key(key), b"") for key in sketch.band_keys)
        if not raw:
            return None
        # Distinct refs in the order met (band order, then posting order), vectorised:
        # copies of one text share most postings.
        postings = np.frombuffer(raw, dtype=_POSTING_DTYPE)["ref"]
        _, first = np.unique(postings, return_index=True)
        refs = postings[np.sort(first)][: self.config.max_candidates].tolist()
        records = [r for r in (self._sketch(ref.to_bytes(8, "big"), cutoff) for ref in refs) if r]
        records = [r for r in records if r.url_key != exclude]
        if not records:
            return None
        # All candidates verified in one vector operation.
        matching = np.count_nonzero(
            np.frombuffer(b"".join(r.signature for r in records), dtype=np.uint8).reshape(
                len(records), BINS
            )
            == np.frombuffer(sketch.signature, dtype=np.uint8),
            axis=1,
        )
        sizes = np.array([r.shingles for r in records], dtype=np.float64)
        share = matching / BINS
        jaccard = np.clip((share - CHANCE) / (1.0 - CHANCE), 0.0, 1.0)
        smaller = np.maximum(1.0, np.minimum(sizes, sketch.shingles))
        containment = np.minimum(
            1.0, jaccard * (sizes + sketch.shingles) / (1.0 + jaccard) / smaller
        )
        passing = np.flatnonzero(
            (matching >= self.config.min_matching_bins)
            & (containment >= self.config.containment_threshold)
        )
        if passing.size == 0:
            return None
        # Highest containment, then Jaccard, then the first found (lexsort: last key first).
        best = int(passing[np.lexsort((passing, -jaccard[passing], -containment[passing]))[0]])
        sim = similarity(int(matching[best]), sketch.shingles, records[best].shingles)
        return Match(records[best].url_key, sim)

    def add(self, sketch: Sketch, url_key: str, day: int, *, stands_for: str | None = None) -> None:
        """File `sketch` for the article at `url_key`; `stands_for` is the URL key a match
        should report instead (the original, when this article is itself a duplicate)."""
        ref = sketch_ref(url_key)
        record = SketchRecord(day, sketch.shingles, sketch.signature, stands_for or url_key)
        self.sketches[b64key(ref)] = record.pack()
        # Expired postings are left to `sweep` and to the cap: reading their days here
        # would cost more than the whole lookup.
        for key in sketch.band_keys:
            name = band_key(key)
            raw = self.bands.get(name, b"")
            entry = _POSTING.pack(ref, day)
            if ref in raw:
                size = _POSTING.size
                raw = b"".join(
                    raw[i : i + size] for i in range(0, len(raw), size) if raw[i : i + 8] != ref
                )
            self.bands[name] = (raw + entry)[-self.config.band_postings * _POSTING.size :]

    def sweep(self, day: int) -> int:
        """Delete everything older than the retention window before `day`; how many entries."""
        cutoff = day - self.config.retention_days
        removed = 0
        for key in [k for k, v in self.sketches.items() if _HEAD.unpack_from(v)[0] < cutoff]:
            del self.sketches[key]
            removed += 1
        for name, raw in list(self.bands.items()):
            postings = _postings(raw)
            kept = [p for p in postings if p[1] >= cutoff]
            if len(kept) == len(postings):
                continue
            removed += len(postings) - len(kept)
            if kept:
                self.bands[name] = _pack_postings(kept)
            else:
                del self.bands[name]
        return removed


def index_bytes(*stores: MutableMapping[str, bytes]) -> int:
    """Key and value bytes held by the stores (what a changelog or RocksDB would hold)."""
    return sum(len(k.encode()) + len(v) for store in stores for k, v in store.items())
