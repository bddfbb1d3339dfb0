from __future__ import annotations

import pytest

from services.cleaner.cruft import line_reason
from services.cleaner.extract import extract, extract_html, extract_plain
from services.common.errors import ExtractionError, NoContentError
from tests.conftest import FIRST_PARAGRAPH_START, LAST_PARAGRAPH_END

TITLE = "Intense Truce Talks Underway Amidst Gaza Hostilities, U.S. Pushes for Hostage Deal"
BYLINE = "News of War Staff Writer"


def _assert_clean_seed(paragraphs: list[str]) -> None:
    lowered = [p.strip().lower() for p in paragraphs]
    assert "top of page" not in lowered
    assert "bottom of page" not in lowered
    assert not any("top of page" in p or "bottom of page" in p for p in lowered)
    assert paragraphs[0].startswith(FIRST_PARAGRAPH_START)
    assert paragraphs[-1].endswith(LAST_PARAGRAPH_END)
    # Title and byline are fields, not body text.
    assert TITLE not in paragraphs
    assert BYLINE not in paragraphs


def test_seed_plain_text_page(seed_text: str) -> None:
    result = extract(seed_text, "text/plain; charset=utf-8", max_chars=1_000_000)
    assert result.title == TITLE
    assert result.byline == BYLINE
    _assert_clean_seed(result.paragraphs)
    assert result.removed["scroll_anchor"] == 2
    assert result.removed["byline_in_body"] == 1
    assert len(result.paragraphs) == 19


def test_seed_html_page(seed_html: str) -> None:
    result = extract(seed_html, "text/html", max_chars=1_000_000)
    assert result.title == TITLE
    assert result.byline == BYLINE
    assert result.site == "News of War"
    assert result.published is not None and result.published.isoformat().startswith("2023-12-20")
    assert result.language_hint == "en"
    _assert_clean_seed(result.paragraphs)
    for cruft in (
        "Share this post",
        "Recent Posts",
        "Proudly created with Wix.com",
        "uses cookies",
    ):
        assert not any(cruft in p for p in result.paragraphs), cruft
    assert result.removed.get("scroll_anchor", 0) >= 2


def test_html_and_plain_copies_extract_the_same_body(seed_html: str, seed_text: str) -> None:
    assert extract_html(seed_html).paragraphs == extract_plain(seed_text).paragraphs


def test_trafilatura_leftover_lines_are_removed_from_html() -> None:
    # Scroll anchors that are not marked up as such still go, by the line rules.
    body = "".join(
        f"<p>{f'Sentence number {i} of a long enough article body. ' * 3}</p>" for i in range(8)
    )
    html = f"<html><body><p>top of page</p><article>{body}</article><p>Bottom of Page</p>"
    result = extract_html(html)
    assert all("of page" not in p.lower() for p in result.paragraphs)
    assert len(result.paragraphs) == 8


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("top of page", "scroll_anchor"),
        ("Bottom of Page", "scroll_anchor"),
        ("Skip to main content", "skip_link"),
        ("Share this article", "share_prompt"),
        ("This website uses cookies to improve your experience.", "cookie_notice"),
        ("Subscribe to our newsletter", "newsletter_prompt"),
        ("© 2023 by News of War. Proudly created with Wix.com", "builder_credit"),
        ("3 min read", "post_stats"),
        ("The talks continue on top of page one of the agenda, officials said.", None),
        ("Share prices fell sharply on Monday as investors weighed the news.", None),
    ],
)
def test_line_rules(line: str, reason: str | None) -> None:
    assert line_reason(line) == reason


def test_byline_deep_in_the_body_is_content() -> None:
    text = (
        "Headline\n\nBy Jane Doe\n\nFirst paragraph of the story.\n\nBy Jane Doe\n\nLast paragraph."
    )
    result = extract_plain(text)
    assert result.byline == "Jane Doe"
    assert result.paragraphs == ["First paragraph of the story.", "By Jane Doe", "Last paragraph."]


def test_empty_and_unsupported_pages_raise_clear_errors() -> None:
    with pytest.raises(NoContentError):
        extract("<html><body><nav>Home</nav></body></html>", "text/html", max_chars=10_000)
    with pytest.raises(ExtractionError) as unsupported:
        extract("%PDF-1.7", "application/pdf", max_chars=10_000)
    assert unsupported.value.reason == "content_type"
    with pytest.raises(ExtractionError) as too_big:
        extract("x" * 101, "text/plain", max_chars=100)
    assert too_big.value.reason == "too_large"
