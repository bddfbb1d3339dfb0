"""Near-duplicate sketches: one-permutation MinHash, LSH band keys and containment checks.

Why these choices:

* One-permutation hashing (Li, Owen and Zhang 2012) with rotation densification
  (Shrivastava and Li 2014): the shingle hashes are split into BINS bins by their top
  bits and each bin keeps its minimum, which estimates Jaccard like BINS independent
  MinHash permutations but costs one sort instead of BINS hash passes.
* The stored sketch keeps only the lowest 8 bits of each bin's minimum (b-bit MinHash,
  Li and König 2010): 64 bytes instead of 512, and the chance agreement of two 8-bit
  values (1/256) is subtracted when estimating Jaccard.
* LSH bands of one row each: a variant that keeps half of an article, or carries
  three times its text in page furniture, has a Jaccard similarity of 0.1-0.3 with the
  article, which bands of two or more rows almost never catch. Single-row bands let
  such pairs meet; a band key shared by very many articles (a stock phrase) is capped
  by the index, and every candidate is verified on the full sketch.
* Verification by containment, |A ∩ B| / min(|A|, |B|), estimated from the Jaccard
  estimate and the two shingle counts: plain Jaccard fails when one text is a part of
  the other. Broder (1997) defines both measures.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

import numpy as np

from services.dedup.text import SHINGLE_WORDS, U64, fmix64, shingle_hashes

BIN_BITS = 6
BINS = 1 << BIN_BITS
_SHIFT = np.uint64(64 - BIN_BITS)
_BIN_STARTS = np.arange(BINS, dtype=np.uint64) << _SHIFT
_BIN_IDS = np.arange(BINS, dtype=np.uint64)
_BIN_POSITIONS = np.arange(BINS)
# Added per step when an empty bin borrows (a 0-d array: faster than a numpy scalar).
_ROTATION = np.array(0x9E3779B97F4A7C15, dtype=np.uint64)
_BAND_SALT = np.uint64(0xD6E8FEB86659FD93)
_BAND_SALTS = (_BIN_IDS + np.uint64(1)) * _BAND_SALT  # band i's key mixes in salt i
_URLSAFE = bytes.maketrans(b"+/", b"-_")
# A big-endian band key and a zero byte: 9 bytes, 12 base64 characters (`b64_names`).
_PADDED_KEY = np.dtype([("key", ">u8"), ("pad", np.uint8)])
CHANCE = 1.0 / 256.0  # two unrelated 8-bit values agree this often
MAX_SHINGLES = 0xFFFF  # counts are stored in two bytes


@dataclass(frozen=True)
class Sketch:
    """What the index keeps of an article's text, and the band keys it is filed under."""

    signature: bytes  # BINS bytes: the low 8 bits of each bin's minimum
    shingles: int  # distinct shingles, capped at MAX_SHINGLES
    band_keys: tuple[int, ...]  # one 64-bit key per band
    # The same keys as the index names them (`b64_names`), computed once per article
    # in one call rather than once per band per lookup and per insert.
    band_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float  # estimated |A ∩ B| / min(|A|, |B|)
    matching_bins: int


def b64_names(blocks: bytes, size: int = 9, keep: int = 8) -> tuple[str, ...]:
    """base64url without padding of the first `keep` bytes of each `size`-byte block of
    `blocks`, whose other bytes are zeros, in one encoding call rather than one per key.

    With `size` a multiple of 3 the blocks encode independently; 8 bytes and a zero
    byte give 12 characters of which the first 11 are what unpadded base64 writes for
    the 8 bytes (their last character's low bits come from the zero byte either way)."""
    if size % 3 or not 0 < keep <= size:
        raise ValueError("blocks of a multiple of 3 bytes, keeping at most all of them")
    count = len(blocks) // size
    chars = -(-keep * 4 // 3)  # characters of `keep` bytes without padding
    width = size // 3 * 4
    raw = binascii.b2a_base64(blocks[: count * size], newline=False)
    text = raw.translate(_URLSAFE).decode()
    return tuple([text[i : i + chars] for i in range(0, count * width, width)])


def _band_names(keys: U64) -> tuple[str, ...]:
    padded = np.zeros(keys.size, dtype=_PADDED_KEY)
    padded["key"] = keys
    return b64_names(padded.tobytes(), _PADDED_KEY.itemsize, 8)


def bin_minima(hashes: U64) -> U64:
    """The densified per-bin minima of sorted, distinct 64-bit shingle hashes."""
    # idx[b]: where bin b starts in the sorted hashes; it holds something when the next
    # bin starts later (or, for the last bin, when it starts before the end).
    idx = np.searchsorted(hashes, _BIN_STARTS)
    last_filled = bool(idx[-1] < hashes.size)
    growing = idx[1:] > idx[:-1]
    if last_filled and growing.all():
        mins: U64 = hashes[idx]
        return mins
    filled = np.append(growing, last_filled)
    # An empty bin borrows the minimum of the next filled bin to its right (circularly),
    # shifted by the distance, so two texts agree there only where they agree in the
    # bin it borrows from.
    where = np.flatnonzero(filled)
    source = where[np.searchsorted(where, _BIN_POSITIONS) % where.size]
    distance = ((source - _BIN_POSITIONS) % BINS).astype(np.uint64)
    out: U64 = hashes[idx[source]] + distance * _ROTATION
    return out


def sketch_of(hashes: U64, bands: int) -> Sketch | None:
    """The sketch of sorted, distinct shingle hashes; None when there are none."""
    if hashes.size == 0:
        return None
    mins = bin_minima(hashes)
    keys = fmix64(mins[:bands] ^ _BAND_SALTS[:bands])
    return Sketch(
        signature=mins.astype(np.uint8).tobytes(),  # the cast keeps the low 8 bits
        shingles=min(int(hashes.size), MAX_SHINGLES),
        band_keys=tuple(keys.tolist()),
        band_names=_band_names(keys),
    )


def sketch(text: str, bands: int, shingle_words: int = SHINGLE_WORDS) -> Sketch | None:
    return sketch_of(shingle_hashes(text, shingle_words), bands)


def similarity(matching_bins: int, n_a: int, n_b: int) -> Similarity:
    """Estimated Jaccard and containment from the agreeing bins and the two shingle counts."""
    share = matching_bins / BINS
    jaccard = min(1.0, max(0.0, (share - CHANCE) / (1.0 - CHANCE)))
    smaller = max(1, min(n_a, n_b))
    intersection = jaccard * (n_a + n_b) / (1.0 + jaccard)
    return Similarity(jaccard, min(1.0, intersection / smaller), matching_bins)


def compare(sig_a: bytes, n_a: int, sig_b: bytes, n_b: int) -> Similarity:
    """Estimated Jaccard and containment of two texts from their signatures and sizes."""
    a = np.frombuffer(sig_a, dtype=np.uint8)
    b = np.frombuffer(sig_b, dtype=np.uint8)
    return similarity(int(np.count_nonzero(a == b)), n_a, n_b)
