"""Content fingerprints: the exact hash of an article's normalised text."""

from __future__ import annotations

import hashlib
import re
import unicodedata

WORD = re.compile(r"\w+", re.UNICODE)


def normalised_words(text: str) -> list[str]:
    """Words only, case- and accent-folded: markup, spacing and punctuation do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return WORD.findall(folded)


def content_hash(text: str) -> str:
    """SHA-256 of the normalised words; two copies of one text agree wherever they came from."""
    return hashlib.sha256(" ".join(normalised_words(text)).encode()).hexdigest()
