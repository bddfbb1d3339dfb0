"""Paragraphs as a list, plain text, and Markdown when it is asked for."""

from __future__ import annotations

from services.cleaner.extract import extract
from services.cleaner.pipeline import learn_site
from services.cleaner.sitelearn import LearnSettings
from services.common.models import Article

WORDS = "with enough words to count as body text in any extractor at all"
HTML = (
    "<html><head><title>Tides</title></head><body><article><h1>Tides</h1>"
    f"<p>Opening paragraph about the tides, {WORDS}.</p>"
    "<h2>What changed</h2>"
    f"<p>Second paragraph about the harbour, {WORDS}.</p>"
    "<ul><li>First point made in a list item</li><li>Second point made in a list item</li></ul>"
    f"<p>Share this post</p><p>Closing paragraph about the boats, {WORDS}.</p>"
    "</article></body></html>"
)


def test_markdown_is_off_by_default() -> None:
    result = extract(HTML, "text/html", max_chars=100_000)
    assert result.markdown is None
    assert result.text == "\n\n".join(result.paragraphs)


def test_markdown_keeps_headings_and_lists_and_drops_what_the_text_drops() -> None:
    result = extract(HTML, "text/html", max_chars=100_000, markdown=True)
    md = result.markdown
    assert md is not None
    assert "## What changed" in md
    assert "- First point made in a list item\n- Second point made in a list item" in md
    # The headline and the cruft line are gone from both forms.
    assert "Tides\n" not in md and "# Tides" not in md and "Share this post" not in md
    assert "Share this post" not in result.text
    assert md.startswith("Opening paragraph") and md.endswith("boats, " + WORDS + ".")
    assert "What changed" in result.paragraphs  # the plain paragraphs keep the heading text


def test_plain_text_markdown_is_its_paragraphs() -> None:
    result = extract(
        "Title\n\nOne line.\n\nTwo lines.", "text/plain", max_chars=1000, markdown=True
    )
    assert result.markdown == "One line.\n\nTwo lines."


def test_site_template_lines_leave_the_markdown_too() -> None:
    cfg = LearnSettings(min_articles=2, min_share=0.5)
    table: dict[str, str] = {}
    for i in range(4):
        paragraphs = [f"Story {i} has its own news.", "Follow us on Mastodon"]
        art = Article(
            id=f"a{i}",
            url=f"https://site.example/{i}",
            text="",
            paragraphs=paragraphs,
            markdown=f"## Story {i}\n\nStory {i} has its own news.\n\n**Follow us** on Mastodon",
        )
        out = learn_site(art, table, cfg)
    assert out.paragraphs == ["Story 3 has its own news."]
    assert out.markdown == "## Story 3\n\nStory 3 has its own news."
