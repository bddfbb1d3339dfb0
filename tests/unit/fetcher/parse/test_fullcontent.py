"""`pages: auto` (parse.fullcontent): the rule that says a feed's content is already the
whole article."""

from __future__ import annotations

import pytest

from services.common.htmltext import visible_lines, visible_text
from services.fetcher.parse.fullcontent import MIN_ARTICLE_CHARS, is_whole_article, looks_cut

SENTENCE = "The council voted on the new budget after a long debate about the harbour. "


def article(chars: int = 2400, ending: str = "The vote is final.") -> str:
    paragraphs = []
    text = ""
    while len(text) < chars:
        paragraph = SENTENCE * 4
        paragraphs.append(f"<p>{paragraph.strip()}</p>")
        text += paragraph
    return "".join(paragraphs) + f"<p>{ending}</p>"


def test_a_long_content_with_a_proper_ending_is_whole() -> None:
    assert is_whole_article(article())


def test_short_content_is_a_teaser() -> None:
    assert not is_whole_article(None)
    assert not is_whole_article("")
    short = article(chars=600)
    assert len(visible_text(short)) < MIN_ARTICLE_CHARS
    assert not is_whole_article(short)


def test_markup_does_not_count_as_text() -> None:
    # Plenty of bytes, little text: attributes, scripts and styles are not read.
    padded = (
        '<div class="' + "x" * 3000 + '"><p>Just a teaser of the story.</p></div>'
        "<script>var a = '" + "y" * 3000 + "';</script><style>p{}</style>"
    )
    assert not is_whole_article(padded)


@pytest.mark.parametrize(
    "ending",
    [
        "And then the mayor said […]",
        "And then the mayor said [...]",
        "And then the mayor said…",
        "And then the mayor said...",
        '<a href="/1">Read more</a>',
        '<a href="/1">Continue reading →</a>',
        '<a href="/1">Weiterlesen</a>',
        '<a href="/1">Lire la suite</a>',
        '<a href="/1">Leer más</a>',
        "Read the full story on our site.",
    ],
)
def test_a_truncation_marker_at_the_end_makes_it_a_teaser(ending: str) -> None:
    assert not is_whole_article(article(ending=ending))


def test_wordpress_excerpt_with_its_appeared_first_line() -> None:
    content = article(ending="The budget grows by […]") + (
        '<p>The post <a href="/x">Budget</a> appeared first on <a href="/">Town News</a>.</p>'
    )
    assert not is_whole_article(content)


def test_an_ellipsis_in_the_middle_is_prose() -> None:
    middle = "<p>He paused… and then went on.</p>"
    content = middle + article()
    assert is_whole_article(content)
    assert not looks_cut(visible_text(content))


def test_french_prose_with_la_suite_is_not_a_marker() -> None:
    ending = "À la suite de ce vote, le conseil se réunira de nouveau en juin."
    assert is_whole_article(article(ending=ending))


def test_visible_text_decodes_entities_after_tags() -> None:
    assert visible_text("<p>AT&amp;T &lt;b&gt; x</p><p>Two</p>") == "AT&T <b> x\nTwo"
    assert visible_lines("<p>a</p>\n\n<div> </div><br>b<!-- c -->") == ["a", "b"]
