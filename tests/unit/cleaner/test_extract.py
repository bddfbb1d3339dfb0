"""services/cleaner/extract.py: pages to title, byline and body (the seed page as HTML and as
plain text, XHTML, AMP), the errors it raises, and its cheap paths giving what the slower
ones gave (the fallback gate, the parser)."""

from __future__ import annotations

from typing import Any

import pytest
import trafilatura
from lxml import html as lxml_html

from services.cleaner import extract as extract_module
from services.cleaner.cruft import element_reason
from services.cleaner.extract import (
    FALLBACK_BELOW_CHARS,
    _parse,
    extract,
    extract_html,
    extract_plain,
)
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


# XHTML and AMP pages.

PARAS = "".join(
    f"<p>Paragraph {i} of the council story tells readers about the harbour budget vote "
    f"and what the mayor said afterwards in the chamber.</p>"
    for i in range(6)
)
XHTML = f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
  "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en">
<head><title>Council votes on harbour budget</title></head>
<body><div id="nav"><a href="/">Home</a> <a href="/news">News</a></div>
<article><h1>Council votes on harbour budget</h1>{PARAS}</article></body></html>"""
AMP = f"""<!doctype html><html ⚡ lang="en"><head><meta charset="utf-8">
<title>Council votes on harbour budget</title>
<link rel="canonical" href="https://example.com/story">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<style amp-boilerplate>body{{visibility:hidden}}</style></head>
<body><amp-sidebar id="sidebar" layout="nodisplay"><ul><li><a href="/">Home</a></li>
<li><a href="/news">News</a></li></ul></amp-sidebar>
<article><h1>Council votes on harbour budget</h1>
<amp-img src="photo.jpg" width="600" height="400" layout="responsive"></amp-img>{PARAS}
<amp-ad width="300" height="250" type="doubleclick" data-slot="/1/2"></amp-ad>
<amp-social-share type="twitter"></amp-social-share></article></body></html>"""


def test_xhtml_with_an_xml_declaration() -> None:
    result = extract(XHTML, "application/xhtml+xml", max_chars=1_000_000)
    assert result.title == "Council votes on harbour budget"
    assert len(result.paragraphs) == 6 and result.paragraphs[0].startswith("Paragraph 0")
    assert "Home" not in result.text


def test_amp_page_keeps_the_article_and_drops_the_sidebar() -> None:
    result = extract(AMP, "text/html", max_chars=1_000_000)
    assert len(result.paragraphs) == 6
    assert result.canonical_url == "https://example.com/story"
    assert "Home" not in result.text and "News" not in result.paragraphs


# The cheap paths: fallback gate and parser.


def _article(paragraphs: int) -> str:
    body = "".join(
        f"<p>{f'Paragraph {i} of the story tells what happened on the day. ' * 3}</p>"
        for i in range(paragraphs)
    )
    return f"<html><body><article><h1>Head</h1>{body}</article></body></html>"


def _record_fast(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    calls: list[bool] = []
    real = trafilatura.bare_extraction

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["fast"])
        return real(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    return calls


def test_a_long_main_text_skips_the_fallback_extractors(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_fast(monkeypatch)
    result = extract_html(_article(8))
    assert len(result.text) >= FALLBACK_BELOW_CHARS
    assert calls == [True]


def test_a_short_main_text_runs_the_whole_cascade(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_fast(monkeypatch)
    result = extract_html(_article(1))
    assert calls == [True, False]
    assert result.text.startswith("Paragraph 0 of the story")


def test_the_second_run_sees_the_tree_the_first_one_saw() -> None:
    # trafilatura copies the tree it is given: the cascade is not fed a pruned tree.
    tree = _parse(_article(1))
    before = lxml_html.tostring(tree)
    assert extract_module._main_text(tree) is not None
    assert lxml_html.tostring(tree) == before


def test_parsed_elements_are_html_elements_forms_included() -> None:
    tree = _parse(
        "<html><body><form><input type='email'><label>Mail</label>"
        "<select><option>a</option></select><textarea>t</textarea></form></body></html>"
    )
    for el in tree.iter():
        assert isinstance(el, lxml_html.HtmlElement)
    assert tree.find(".//form").text_content() == "Mailat"
    assert element_reason(tree.find(".//form")) == "newsletter_prompt"
