"""Word count and reading time."""

from __future__ import annotations

from services.enricher.stats import reading_time_seconds, word_count


def test_word_count_and_reading_time() -> None:
    assert word_count("Hamas's leader, Ismail Haniyeh, went to Cairo.") == 7
    assert reading_time_seconds(230, 230) == 60
    assert reading_time_seconds(0, 230) == 0
