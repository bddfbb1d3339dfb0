"""Pages that are not one text article: binary bodies, and a second story preloaded below."""

from __future__ import annotations

import gzip

import pytest
from lxml import html as lxml_html

from services.cleaner import bodyfix
from services.cleaner.extract import extract
from services.common.errors import NoContentError

SENTENCE = "The Miller family bakery on Main Street will close after six decades in business. "
HTML = f"<html><body><article><h1>Bakery closes</h1>{f'<p>{SENTENCE * 2}</p>' * 20}</article>"


def test_a_binary_body_is_no_content_and_a_misdecoded_page_is_text() -> None:
    # A gzip stream served as text/html, decoded as UTF-8 with replacement characters.
    body = gzip.compress(HTML.encode()).decode("utf-8", "replace")
    with pytest.raises(NoContentError):
        extract(body, "text/html", max_chars=10**7)
    with pytest.raises(NoContentError):
        extract(body, "text/plain", max_chars=10**7)
    # A Latin-1 page read as UTF-8: its accented letters are lost, its text is not.
    page = HTML.replace("Miller", "M\ufffdller")
    assert "M\ufffdller" in extract(page, "text/html", max_chars=10**7).text


def _post(title: str, topic: str, tag: str = "h2") -> str:
    paras = "".join(
        f"<p>The {topic} story goes on with sentence {i} of plain prose, long enough.</p>"
        for i in range(4)
    )
    return f"<article class='post'><{tag}>{title}</{tag}><div class='entry-content'>{paras}</div>"


def test_a_preloaded_next_story_is_not_merged_into_the_first() -> None:
    html = (
        "<html><body><main>"
        + _post("Bakery closes", "bakery", "h1")
        + "</article><div class='next-post-preview'>"
        + _post("Council approves budget", "council")
        + "</article></div></main></body></html>"
    )
    assert bodyfix.merge_body_chunks(lxml_html.fromstring(html)) == 0
    text = extract(html, "text/html", max_chars=10**7).text
    assert "The bakery story goes on with sentence 3" in text
    assert "council" not in text


def test_chunks_after_a_new_headline_are_not_merged() -> None:
    chunk = "<div class='grid'><div class='article__body'>{}</div></div>"
    paras = "".join(f"<p>{SENTENCE}</p>" for _ in range(4))
    tree = lxml_html.fromstring(
        "<html><body><main>"
        + chunk.format(paras)
        + "<div class='ad-slot'>Advertisement</div>"
        + chunk.format(paras)
        + "<h1>Next story</h1>"
        + chunk.format(paras)
        + "</main></body></html>"
    )
    # The chunk after the ad is the same story; the one under the new <h1> is not.
    assert bodyfix.merge_body_chunks(tree) == 1
