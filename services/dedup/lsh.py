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
from services.dedup.neardup import BINS, Similarity, Sketch, b64_names, similarity

_POSTING = struct.Struct(">8sH")
_HEAD = struct.Struct(">HH")
_HEX_KEY_LEN = 32
_URLSAFE = bytes.maketrans(b"+/", b"-_")
# Refs read as little-endian integers: only compared for equality and written back as
# the same 8 bytes, so no byte swapping is needed.
_POSTING_DTYPE = np.dtype([("ref", "<u8"), ("day", ">u2")])
_FIXED = _HEAD.size + BINS  # a sketch record's fixed part: day, shingles, signature
# A ref followed by a zero byte: 9 bytes encode to 12 base64 characters, so the sketch
# keys of all candidates come out of one encoding call (see `b64_names`).
_PADDED_REF = np.dtype([("ref", "<u8"), ("pad", np.uint8)])
_ONES = np.ones(BINS, dtype=np.uint8)
# Estimated Jaccard by the number of agreeing bins (as `neardup.similarity`).
_JACCARD = tuple(similarity(m, 1, 1).jaccard for m in range(BINS + 1))


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

    def _names(self, sketch: Sketch) -> tuple[str, ...]:
        if len(sketch.band_names) == len(sketch.band_keys):
            return sketch.band_names
        return tuple(band_key(key) for key in sketch.band_keys)

    def find(self, sketch: Sketch, day: int, exclude: str | None = None) -> Match | None:
        """The best verified earlier near-duplicate: highest containment, then Jaccard,
        then the earliest filed (all deterministic).

        The hot path of dedup, so it is a few vector operations and one loop over the
        candidates that share enough bins: one store read per band and per candidate,
        no per-posting or per-record objects, and only the chosen URL key is decoded."""
        get_postings = self.bands.get
        raw = b"".join([get_postings(name, b"") for name in self._names(sketch)])
        if not raw:
            return None
        # Distinct refs in the order met (band order, then posting order): copies of one
        # text share most postings.
        postings = np.frombuffer(raw, dtype=_POSTING_DTYPE)["ref"]
        refs = list(dict.fromkeys(postings.tolist()))[: self.config.max_candidates]
        padded = np.zeros(len(refs), dtype=_PADDED_REF)
        padded["ref"] = refs
        keys = b64_names(padded.tobytes(), _PADDED_REF.itemsize, 8)
        get_sketch = self.sketches.get
        fetched = [get_sketch(key) for key in keys]
        if None in fetched:  # swept, or expired and deleted by an earlier lookup
            keys = tuple(key for key, rec in zip(keys, fetched, strict=True) if rec is not None)
        found = [rec for rec in fetched if rec is not None]
        if not found:
            return None
        heads = [_HEAD.unpack_from(rec) for rec in found]
        cutoff = day - self.config.retention_days
        if min(heads)[0] < cutoff:
            # Past the retention window: treated as absent, and deleted when met.
            for key, (filed, _) in zip(keys, heads, strict=True):
                if filed < cutoff:
                    del self.sketches[key]
            kept = [i for i, (filed, _) in enumerate(heads) if filed >= cutoff]
            found = [found[i] for i in kept]
            heads = [heads[i] for i in kept]
            if not found:
                return None
        # Agreeing bins of every candidate in one vector operation.
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
        own = None if exclude is None else _pack_key(exclude)
        best = -1
        best_containment = best_jaccard = -1.0
        for i, agreeing in enumerate(matching):
            if agreeing < least:
                continue
            jaccard = _JACCARD[agreeing]
            size = heads[i][1]
            smaller = size if size < n else n
            containment = jaccard * (size + n) / (1.0 + jaccard) / (smaller if smaller > 1 else 1)
            if containment > 1.0:
                containment = 1.0
            if containment < threshold or containment < best_containment:
                continue
            if containment == best_containment and jaccard <= best_jaccard:
                continue
            if own is not None and found[i][_FIXED:] == own:
                continue  # the article itself, filed by an earlier version
            best, best_containment, best_jaccard = i, containment, jaccard
        if best < 0:
            return None
        sim = similarity(matching[best], n, heads[best][1])
        return Match(_unpack_key(found[best][_FIXED:]), sim)

    def add(self, sketch: Sketch, url_key: str, day: int, *, stands_for: str | None = None) -> None:
        """File `sketch` for the article at `url_key`; `stands_for` is the URL key a match
        should report instead (the original, when this article is itself a duplicate)."""
        ref = sketch_ref(url_key)
        # SketchRecord(day, shingles, signature, key).pack(), without the object.
        packed = _HEAD.pack(day, sketch.shingles) + sketch.signature
        self.sketches[b64key(ref)] = packed + _pack_key(stands_for or url_key)
        # Expired postings are left to `sweep` and to the cap: reading their days here
        # would cost more than the whole lookup.
        entry = _POSTING.pack(ref, day)
        size = _POSTING.size
        cap = self.config.band_postings * size
        bands = self.bands
        for name in self._names(sketch):
            raw = bands.get(name)
            if raw is None:
                bands[name] = entry
                continue
            if ref in raw:
                raw = b"".join(
                    raw[i : i + size] for i in range(0, len(raw), size) if raw[i : i + 8] != ref
                )
            raw += entry
            bands[name] = raw[-cap:] if len(raw) > cap else raw

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
