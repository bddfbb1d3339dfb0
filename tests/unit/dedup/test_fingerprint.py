"""The content hash: the same text under different markup, spacing, case and punctuation."""

from __future__ import annotations

import hashlib
import random

from services.dedup.fingerprint import SPACED, content_hash, normalised_words


def test_content_hash_ignores_markup_spacing_case_and_punctuation() -> None:
    a = content_hash("Hamas  leader Ismail Haniyeh visited Egypt.\n\nTalks go on!")
    b = content_hash("hamas leader ismail haniyeh visited egypt talks go on")
    assert a == b
    assert a != content_hash("Hamas leader Ismail Haniyeh visited Qatar. Talks go on!")


def _reference(text: str) -> str:
    """The hash as defined: SHA-256 of the NFKC-casefolded text's words, space-joined."""
    return hashlib.sha256(" ".join(normalised_words(text)).encode()).hexdigest()


def test_content_hash_fast_path_is_the_definition() -> None:
    # ASCII, ASCII once the common punctuation is spaces, and texts that take the
    # general path (letters outside ASCII, compatibility forms, a lone surrogate).
    rng = random.Random(3)
    pieces = [
        "Word",
        "word",
        "_x_",
        "a1",
        "9",
        "’s",
        "it’s",
        "“Yes”",
        "—",
        "–",
        "…",
        "£5",
        "®",
        "•",
        ".",
        ",",
        "-",
        "'",
        "café",
        "ﬁne",
        "Ⅻ",
        "ß",
        "İ",
        "Straße",
        "ａｂ",
    ]
    pieces += ["\xa0", "\t", "\n", " ", "\u0301", "e\u0301", "\ud800", "x\u2019y", "A\u2026B"]
    texts = [" ".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40))) for _ in range(400)]
    texts += ["", " ", "’", "\xa0\xa0", "A…", "…A", *pieces]
    for text in texts:
        assert content_hash(text) == _reference(text), repr(text)


def test_spaced_marks_are_no_part_of_any_word() -> None:
    for mark in SPACED:
        for other in map(chr, range(128)):
            for pair in (mark + other, other + mark):
                assert normalised_words(pair) == normalised_words(pair.replace(mark, " "))
