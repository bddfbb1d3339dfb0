"""Content fingerprints: the exact hash of an article's normalised text."""

from __future__ import annotations

import hashlib
import re
import unicodedata

WORD = re.compile(r"\w+", re.UNICODE)

# Punctuation outside ASCII that news text is full of. None of these is a word
# character, none becomes one under NFKC or case folding, and none combines with its
# neighbours under NFKC (each is a starter that composes with nothing): in a text they
# separate words exactly as a space does. So a text that is ASCII once they are spaces
# has the same words as its ASCII form, which the fast path reads.
SPACED = "\u2019\u201c\u201d\u2014\u2013\u2018\u2026\u00a0\u00ae\u00a3\u2022"
# Per ASCII byte: its lower case when a word character ([0-9A-Za-z_], `\w` in ASCII),
# else a space.
_ASCII_WORDS = bytes(
    ord(chr(b).lower()) if chr(b).isalnum() or b == ord("_") else ord(" ") for b in range(256)
)


def normalised_words(text: str) -> list[str]:
    """Words only, case- and accent-folded: markup, spacing and punctuation do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return WORD.findall(folded)


def content_hash(text: str) -> str:
    """SHA-256 of the normalised words; two copies of one text agree wherever they came from."""
    plain = text
    if not plain.isascii():
        for mark in SPACED:
            plain = plain.replace(mark, " ")
    if plain.isascii():
        # ASCII is its own NFKC form and folds by lower-casing: the same words as
        # `normalised_words`, split by byte translation (the regex cost ten times more).
        words = plain.encode("ascii").translate(_ASCII_WORDS).split()
        return hashlib.sha256(b" ".join(words)).hexdigest()
    return hashlib.sha256(" ".join(normalised_words(text)).encode()).hexdigest()
