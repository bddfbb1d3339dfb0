"""The safety net under the cleaner's own extraction: never keep much less than trafilatura finds.

The cleaner runs trafilatura in precision mode on a tree it has parsed and pruned
itself. Each step can lose an article outright: precision mode reduced a Blogger
post to its date, the cleaner's parse and pruning left a long magazine article with
no main text, a pull quote was taken for the body. When the cleaner's body is short
against the page's text (see `needed`), trafilatura's default extraction (not
precision mode, on the page as sent, through its own parser) runs too, and its body
replaces the cleaner's when the cleaner's is under RESCUE_SHARE of it.

The comparison is with the page's unlinked text mass: every visible character of its
body outside links, whitespace collapsed. Link text is navigation, teasers and tag
lists, never the prose of an article, and on most pages it is the bulk of what is
not the article, so the whole visible mass made the check run on pages whose body
was whole (measured on the article-extraction-benchmark and trafilatura-eval-dev,
653 pages: the check at a quarter of the whole mass ran on 17.6% of pages and
replaced the body on 24 of those 115; at CHECK_SHARE of the unlinked mass it runs
on 8.1% and replaces on 23, catching every page where the cleaner kept under 30% of
bare trafilatura's text but the known listing page below, and the rescue's CPU per
page halves: 8.5 -> 4.3 ms). The unlinked mass is floored at MIN_ARTICLE_CHARS: on
a page that is mostly links (a script-rendered shell whose article lives in its
structured data), the unlinked text says nothing about the article, and a body
under CHECK_SHARE of an article's minimum length is checked anyway.

Measured and left out: trafilatura's `fast=True` first, the full extraction only
when that is still short, costs more (5.9 ms/page against 4.3): the fast pass is the
same main extractor the cleaner already ran, so it found no more than the cleaner on
45 of the 53 checked pages, and those then paid for both. Passing trafilatura a tree
from the cleaner's parser instead of the HTML saves nothing either: the cleaner's
own tree is pruned by then (a copy of every page up front would cost far more than
the rare re-parse), and trafilatura copies any tree it is given.

The one page the check leaves alone on purpose: bare trafilatura's fallback
extractor took a whole listing (8,923 characters for an article of 2,570 that the
cleaner had right); a replacement there would lose precision, not save an article.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import trafilatura
from lxml import etree
from lxml import html as lxml_html

# A cleaner's body under this share of the page's unlinked text mass is checked.
CHECK_SHARE = 0.3
# A cleaner's body under this share of the rescue's has lost the article: trafilatura
# alone finds at least twice as much.
RESCUE_SHARE = 0.5
# Below this much text (about three short paragraphs) a page has no article to lose.
MIN_ARTICLE_CHARS = 500

Reason = Literal["no_content", "short"]
# Elements whose text no reader sees.
_HIDDEN = frozenset({"script", "style", "noscript", "template"})
_SPACE = re.compile(r"\s+")


def text_chars(text: str) -> int:
    """Characters of `text` with whitespace runs counted as one: extractors' outputs
    differ in indentation and blank lines, not in what a reader gets."""
    return len(_SPACE.sub(" ", text).strip())


def masses(tree: lxml_html.HtmlElement) -> tuple[int, int]:
    """The visible characters of the page's body (whitespace collapsed: the most any
    extraction can find on it), and the part of them outside links (an upper bound on
    the article's prose that navigation does not inflate).

    One walk over the body's elements: the two XPath queries this replaces
    (`//body//text()` without script/style/noscript/template or, for the second, <a>
    ancestors; same figures on all 653 pages of the two evaluation sets) checked every
    text node's ancestors and cost 5.6 ms a page, this 1.5.
    """
    visible: list[str] = []
    unlinked: list[str] = []
    for body in tree.iter("body"):
        hidden = links = 0
        for event, el in etree.iterwalk(body, events=("start", "end")):
            tag = el.tag
            named = isinstance(tag, str)  # not a comment or processing instruction
            if event == "start":
                if not named:
                    continue
                if tag in _HIDDEN:
                    hidden += 1
                elif tag == "a":
                    links += 1
                text = el.text
            else:
                if named:
                    if tag in _HIDDEN:
                        hidden -= 1
                    elif tag == "a":
                        links -= 1
                # The tail belongs to the parent: counted with the parent's state.
                text = el.tail if el is not body else None
            if text and not hidden:
                visible.append(text)
                if not links:
                    unlinked.append(text)
    return text_chars(" ".join(visible)), text_chars(" ".join(unlinked))


def text_mass(tree: lxml_html.HtmlElement) -> int:
    return masses(tree)[0]


def unlinked_mass(tree: lxml_html.HtmlElement) -> int:
    return masses(tree)[1]


def needed(body_chars: int, mass: int, unlinked: int) -> bool:
    """Whether the cleaner's body is short enough against the page to check it: `mass`
    is the page's whole visible text, `unlinked` the part of it outside links."""
    return mass >= MIN_ARTICLE_CHARS and body_chars < CHECK_SHARE * max(unlinked, MIN_ARTICLE_CHARS)


def default_extraction(html: str) -> list[str]:
    """trafilatura's default main-text extraction of the page as sent: its lines."""
    doc: Any = trafilatura.bare_extraction(
        html,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
        fast=False,
    )
    text = str(doc.text or "") if doc is not None else ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def better(body_chars: int, rescued_chars: int) -> bool:
    """Whether the rescue's body should replace the cleaner's."""
    return rescued_chars >= MIN_ARTICLE_CHARS and body_chars < RESCUE_SHARE * rescued_chars
