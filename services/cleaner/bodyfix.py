"""Tree fixes that help trafilatura find the whole article body, applied before extraction.

trafilatura picks the first element that its body expressions match and prunes it
with class-name heuristics. Two general ways that goes wrong:

* the publisher's own `itemprop="articleBody"` element carries a class that one of
  the pruning heuristics matches by accident (a site name containing "bar", "ad",
  "meta"...), and the whole body is thrown away;
* the body is split over several sibling blocks of the same kind (one per
  "chunk" between ad slots) and only the first block is taken;
* an embedded post (a tweet quoted in the story) sits in a wrapper named
  "social-embed" or "widget", which the heuristics take for a share bar.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html
from trafilatura.xpaths import BODY_XPATH

_ARTICLE_BODY = etree.XPath("//*[@itemprop='articleBody']")
# Embedded posts whose text is part of the story (blockquote classes of the embed codes).
_EMBED_CLASS = re.compile(r"twitter-tweet|instagram-media|tiktok-embed")
# A wrapper of an embedded post holds little text besides the post.
EMBED_WRAPPER_SLACK = 100
# A chunk holds at least this much paragraph text to be part of the body.
MIN_CHUNK_CHARS = 200


def _paragraph_chars(el: lxml_html.HtmlElement) -> int:
    return sum(len(p.text_content()) for p in el.iter("p"))


def protect_article_body(tree: lxml_html.HtmlElement) -> int:
    """Drop class and id from `itemprop="articleBody"` elements; return how many.

    The microdata names the element the article body; its class names only style
    it. The itemprop alone still lets trafilatura select it.
    """
    count = 0
    for el in _ARTICLE_BODY(tree):
        if el.get("class") is not None or el.get("id") is not None:
            el.attrib.pop("class", None)
            el.attrib.pop("id", None)
            count += 1
    return count


def protect_embeds(tree: lxml_html.HtmlElement) -> int:
    """Drop class and id from embedded posts and their close wrappers; return how many posts."""
    count = 0
    for quote in tree.iter("blockquote"):
        if not _EMBED_CLASS.search(quote.get("class", "")):
            continue
        count += 1
        limit = len(quote.text_content().strip()) + EMBED_WRAPPER_SLACK
        el = quote
        while el is not None and el.tag not in ("body", "html", "article", "main"):
            if len(el.text_content().strip()) > limit:
                break
            el.attrib.pop("class", None)
            el.attrib.pop("id", None)
            el = el.getparent()
    return count


# Where another story starts: chunks after it belong to that story (the next post that
# an infinite-scroll page preloads), not to the first one.
_NEXT_STORY = etree.XPath("(following::article | following::h1)[1]")


def _position(el: lxml_html.HtmlElement) -> tuple[int, ...]:
    """`el`'s child indexes from the root: tuples compare in document order."""
    path = []
    parent = el.getparent()
    while parent is not None:
        path.append(parent.index(el))
        el, parent = parent, parent.getparent()
    return tuple(reversed(path))


def merge_body_chunks(tree: lxml_html.HtmlElement) -> int:
    """Move later body chunks into the first one; return how many chunks were moved.

    The chunks are the elements matched by trafilatura's first body expression that
    share the first match's tag and class, are not nested in one another, each hold
    paragraph text and come before the next <article> or <h1> after the first chunk.
    """
    # Only trafilatura's first, most specific body expression: the later ones are broad
    # and each costs a walk over the whole tree.
    matches = [el for el in BODY_XPATH[0](tree) if el is not None]
    if not matches:
        return 0
    first = matches[0]
    if len(matches) < 2 or _paragraph_chars(first) < MIN_CHUNK_CHARS:
        return 0
    next_story = _NEXT_STORY(first)
    boundary = _position(next_story[0]) if next_story else None
    chunks = [first]
    for el in matches[1:]:
        # Matches come in document order: every later one is past the boundary too.
        if boundary is not None and _position(el) >= boundary:
            break
        if el.tag != first.tag or el.get("class") != first.get("class"):
            continue
        if any(a in chunks for a in el.iterancestors()):
            continue
        if _paragraph_chars(el) < MIN_CHUNK_CHARS:
            continue
        chunks.append(el)
    for chunk in chunks[1:]:
        for child in list(chunk):
            first.append(child)
        chunk.drop_tree()
    return len(chunks) - 1
