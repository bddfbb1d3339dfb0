"""The content hash: the same text under different markup, spacing, case and punctuation."""

from __future__ import annotations

from services.dedup.fingerprint import content_hash


def test_content_hash_ignores_markup_spacing_case_and_punctuation() -> None:
    a = content_hash("Hamas  leader Ismail Haniyeh visited Egypt.\n\nTalks go on!")
    b = content_hash("hamas leader ismail haniyeh visited egypt talks go on")
    assert a == b
    assert a != content_hash("Hamas leader Ismail Haniyeh visited Qatar. Talks go on!")
