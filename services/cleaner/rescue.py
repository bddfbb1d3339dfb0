"""The safety net under the cleaner's own extraction: never keep much less than trafilatura finds.

The cleaner runs trafilatura in precision mode on a tree it has parsed and pruned
itself. Each step can lose an article outright: precision mode reduced a Blogger
post to its date, the cleaner's parse and pruning left a long magazine article with
no main text, a pull quote was taken for the body. So the page's text mass (every
visible character of its body, whitespace collapsed) bounds what any extraction
could find. When the cleaner's body is under CHECK_SHARE of that mass, trafilatura's
default extraction (not precision mode, on the page as sent, through its own parser)
runs too, and its body replaces the cleaner's when the cleaner's is under RESCUE_SHARE
of it. The comparison with the mass keeps the second extraction off most pages.

CHECK_SHARE is a cost/coverage trade measured on the article-extraction-benchmark
and trafilatura-eval-dev (653 pages): at 0.25 the check runs on 18% of pages and
catches every page where the cleaner kept under 30% of bare trafilatura's text but
one, where bare trafilatura's fallback extractor took a whole listing (8,923
characters for an article of 2,570 that the cleaner had right); at 0.5 it ran on
over half of the pages and cost 70% more CPU.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import trafilatura
from lxml import etree
from lxml import html as lxml_html

# A cleaner's body under this share of the page's text mass is checked.
CHECK_SHARE = 0.25
# A cleaner's body under this share of the rescue's has lost the article: trafilatura
# alone finds at least twice as much.
RESCUE_SHARE = 0.5
# Below this much text (about three short paragraphs) a page has no article to lose.
MIN_ARTICLE_CHARS = 500

Reason = Literal["no_content", "short"]
# Text of the body outside elements whose text no reader sees.
_VISIBLE_TEXT = etree.XPath(
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]"
)
_SPACE = re.compile(r"\s+")


def text_chars(text: str) -> int:
    """Characters of `text` with whitespace runs counted as one: extractors' outputs
    differ in indentation and blank lines, not in what a reader gets."""
    return len(_SPACE.sub(" ", text).strip())


def text_mass(tree: lxml_html.HtmlElement) -> int:
    """Visible characters of the page's body (whitespace collapsed): the most any
    extraction can find on it."""
    return text_chars(" ".join(_VISIBLE_TEXT(tree)))


def needed(body_chars: int, mass: int) -> bool:
    """Whether the cleaner's body is short enough against the page to check it."""
    return mass >= MIN_ARTICLE_CHARS and body_chars < CHECK_SHARE * mass


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
