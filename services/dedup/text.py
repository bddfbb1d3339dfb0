"""Word shingles of a text as 64-bit hashes, computed with numpy instead of per-token Python.

Pure-Python shingling (split, join n-grams, hash each string) costs about half a
millisecond per article; here the text is read as an array of code points,
folded and split into words by table lookups, and every later step is a vector
operation:

* each word's hash is a polynomial hash of its UTF-8 bytes, modulo 2**64, taken
  from one prefix sum over the whole text: sum(b_j * P**(end-1-j)) is
  (S[end] - S[start]) * P**(end-1) with S the prefix sums of b_j * P**-j (P is odd,
  so it has an inverse modulo 2**64 and numpy's wrapping uint64 arithmetic is exact);
* a shingle's hash mixes the hashes of its `n` words with different odd multipliers
  and a 64-bit finaliser, so word order matters and every bit depends on every word.

The hashes are deterministic across processes and machines (no salted `hash()`).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]

SHINGLE_WORDS = 5
# Longer texts are shingled on their first MAX_CHARS only: a near-duplicate decision
# never needs more, and the power tables stay small.
MAX_CHARS = 1 << 18


def _u64(value: int) -> U64:
    """A 0-d uint64 array: numpy combines an array with one of these faster than with
    one of its scalars (a third of a microsecond per operation, on every article)."""
    return np.array(value, dtype=np.uint64)


_P = np.uint64(0x100000001B3)  # FNV-64 prime: odd, so invertible modulo 2**64
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
# One odd multiplier per word position of a shingle (golden-ratio based constants).
_POSITION_MULTIPLIERS = tuple(
    _u64(((0x9E3779B97F4A7C15 * (2 * k + 1)) | 1) & 0xFFFFFFFFFFFFFFFF) for k in range(16)
)
_BMP = 0x10000
_S33 = _u64(33)
_M1 = _u64(0xFF51AFD7ED558CCD)
_M2 = _u64(0xC4CEB9FE1A85EC53)
_WIDTHS = tuple(_u64(k) for k in range(17))
_EMPTY: U64 = np.empty(0, dtype=np.uint64)


def _powers(base: np.uint64, n: int) -> U64:
    out = np.empty(n, dtype=np.uint64)
    out[0] = 1
    if n > 1:
        out[1:] = base
        np.cumprod(out, out=out)  # wraps modulo 2**64, which is the arithmetic we want
    return out


def _fold_tables() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    """Per code point of the BMP: its NFKC-casefolded form (when one character) and whether
    it is a word character (`\\w` without "_"). Tables, because a regex over the text costs
    300 µs per article and a table lookup over its code points a few µs."""
    fold = np.arange(_BMP, dtype=np.uint32)
    word = np.zeros(_BMP, dtype=np.bool_)
    for cp in range(_BMP):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        folded = unicodedata.normalize("NFKC", ch).casefold()
        if len(folded) == 1:
            fold[cp] = ord(folded)
        word[cp] = ch.isalnum()
    return fold, word


_P_POW = _powers(_P, MAX_CHARS + 1)
_P_INV_POW = _powers(_P_INV, MAX_CHARS + 1)
_FOLD, _IS_WORD = _fold_tables()
# One lookup per character instead of two: the folded code point of a word character,
# 0 for every other (no word character folds to 0). Some BMP characters fold to one
# beyond it, hence 32 bits.
_WORD_FOLD = np.where(_IS_WORD, _FOLD, 0).astype(np.uint32)


def fmix64(x: U64) -> U64:
    """MurmurHash3's 64-bit finaliser, vectorised: spreads every input bit over the output."""
    # uint64 arrays wrap silently on overflow, which is the arithmetic wanted here.
    x = x ^ (x >> _S33)
    x = x * _M1
    x = x ^ (x >> _S33)
    x = x * _M2
    return x ^ (x >> _S33)


def _fmix64_inplace(x: U64, scratch: U64) -> None:
    """`fmix64` in place, with `scratch` (the same size) for the shifted copies."""
    np.right_shift(x, _S33, out=scratch)
    x ^= scratch
    x *= _M1
    np.right_shift(x, _S33, out=scratch)
    x ^= scratch
    x *= _M2
    np.right_shift(x, _S33, out=scratch)
    x ^= scratch


def _word_chars(text: str) -> npt.NDArray[np.uint32]:
    """Per character of `text`: its folded code point when a word character, else 0."""
    try:
        utf16 = text.encode("utf-16-le")
    except UnicodeEncodeError:  # a lone surrogate: the general path replaces it
        utf16 = b""
    if len(utf16) == 2 * len(text):
        # Every character in the BMP (the common case): UTF-16 is the code points
        # themselves, and one table lookup folds them and blanks the rest.
        return np.take(_WORD_FOLD, np.frombuffer(utf16, dtype=np.uint16))
    raw = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32)
    chars = np.take(_WORD_FOLD, np.minimum(raw, _BMP - 1))
    astral = raw >= _BMP
    chars[astral] = raw[astral]  # beyond the BMP: word characters, unfolded
    return chars


def word_hashes(text: str) -> U64:
    """One 64-bit hash per word of `text`, in order: words are runs of alphanumeric
    characters, compared after NFKC and case folding (as `fingerprint.normalised_words`,
    except that characters outside the BMP always count as word characters, and that
    a character whose folded form is several characters, like the ligature "ﬁ", and
    combining accents are left as they are: per-character tables cannot do those).

    The hashes are polynomial and not yet mixed: `shingle_hashes` mixes them."""
    if not text:
        return _EMPTY
    chars = _word_chars(text[:MAX_CHARS])
    n = chars.size
    is_word = np.zeros(n + 2, dtype=np.bool_)
    np.not_equal(chars, 0, out=is_word[1:-1])
    # Word edges alternate: a start (non-word to word), then its end (word to non-word).
    edges = np.flatnonzero(is_word[1:] != is_word[:-1])
    if edges.size == 0:
        return _EMPTY
    starts = edges[0::2]
    ends = edges[1::2]
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    body = prefix[1:]
    np.multiply(chars, _P_INV_POW[:n], out=body)
    np.cumsum(body, out=body)
    hashes: U64 = prefix[ends] - prefix[starts]
    hashes *= _P_POW[ends - 1]
    # The length goes in too (a word of another length is another word, whatever the
    # arithmetic gives).
    hashes ^= (ends - starts).astype(np.uint64)
    return hashes


def shingle_hashes(text: str, n: int = SHINGLE_WORDS) -> U64:
    """The distinct hashes of the text's n-word shingles, sorted; a shorter text is one shingle."""
    words = word_hashes(text)
    count = words.size
    if count == 0:
        return words
    width = min(n, count)
    rows = count - width + 1
    mixed = words[:rows] * _POSITION_MULTIPLIERS[0]
    term = np.empty(rows, dtype=np.uint64)
    for k in range(1, width):
        np.multiply(words[k : k + rows], _POSITION_MULTIPLIERS[k], out=term)
        mixed += term
    mixed ^= _WIDTHS[width] if width < len(_WIDTHS) else _u64(width)
    _fmix64_inplace(mixed, term)
    mixed.sort()
    keep = np.empty(rows, dtype=np.bool_)
    keep[0] = True
    np.not_equal(mixed[1:], mixed[:-1], out=keep[1:])
    return mixed[keep]
