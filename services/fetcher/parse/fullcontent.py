"""Whether a feed entry's content is already the whole article (a feed's `pages: auto`).

Pure: no network, no Kafka. Wrong in one direction costs a page request (what `always`
does anyway); wrong in the other publishes a teaser as the article. So the test is
strict: enough text to be an article, and no sign at its end that it was cut.
"""

from __future__ import annotations

import re

from services.common.htmltext import visible_text

# About 250 words: below this a feed's content is an excerpt far more often than a
# whole article (WordPress cuts excerpts at 55 words, most CMSs at a few hundred characters).
MIN_ARTICLE_CHARS = 1500
# Where a truncation marker may sit: the last paragraphs, not the whole body (a quoted
# "…" in the middle of an article is prose).
TAIL_CHARS = 300

# An ellipsis (or "[…]", "[...]") closing a paragraph: the CMS cut the text there.
_CUT_AT_END = re.compile(r"(?:\[\s*(?:…|\.{3})\s*\]|…|\.{3})\s*$", re.MULTILINE)
# Links to the rest of the article, in the languages the cleaner's cruft rules know.
_READ_MORE = re.compile(
    r"\b(?:read\s+more|continue\s+reading|keep\s+reading|read\s+the\s+(?:full|rest|whole)"
    r"|full\s+(?:story|article)|weiterlesen|mehr\s+lesen|lesen\s+sie\s+(?:mehr|weiter)"
    r"|lire\s+la\s+suite|lire\s+plus|leer\s+m[aá]s|seguir\s+leyendo|sigue\s+leyendo)\b",
    re.IGNORECASE,
)
# WordPress SEO plugins append this line after an excerpt's "[…]": not article text.
_APPEARED_FIRST = re.compile(r"^.*\bappeared first on\b.*$", re.IGNORECASE | re.MULTILINE)


def looks_cut(text: str) -> bool:
    """Whether the text ends like an excerpt: an ellipsis closing one of its last
    paragraphs, or a "read more" link in the languages the cleaner handles."""
    tail = _APPEARED_FIRST.sub("", text[-TAIL_CHARS:]).strip()
    return bool(_CUT_AT_END.search(tail) or _READ_MORE.search(tail))


def is_whole_article(content: str | None) -> bool:
    """True when the feed's content can stand for the page: long enough to be an
    article and not ending like an excerpt. (Compared with the entry's summary it says
    little: feeds copy the whole text into both, or a teaser into both.)"""
    text = visible_text(content)
    return len(text) >= MIN_ARTICLE_CHARS and not looks_cut(text)
