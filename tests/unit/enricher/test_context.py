"""What an enricher sees of an article: the headline and byline repeated at the top are not body."""

from __future__ import annotations

from services.enricher.context import head_length


def test_headline_and_byline_repeated_at_the_top_are_not_body() -> None:
    text = "Big Storm Hits Town\nBy Jane Roe\n\nThe storm came at night."
    offset = head_length(text, "Big Storm Hits Town", "Jane Roe")
    assert text[offset:] == "The storm came at night."
    assert head_length(text, None, None) == 0
