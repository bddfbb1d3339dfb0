"""Tree fixes that help trafilatura find the whole article body, applied before extraction.

trafilatura picks the first element that its body expressions match and prunes it
with class-name heuristics. Two general ways that goes wrong:

* the publisher's own `itemprop="articleBody"` element carries a class that one of
  the pruning heuristics matches by accident (a site name containing "bar", "ad",
  "meta"...), and the whole body is thrown away;
* the body is split over several sibling blocks of the same kind (one per
  "chunk" between ad slots) and only the first block is taken;
* an embedded post (a tweet quoted in the story) sits in a wrapper named
  "social-embed" or "widget", which the heuristics take for a share bar;
* text follows an empty element (an icon `<i class="fa ..."></i>` before a heading's
  words, a table-of-contents anchor `<span id="..."></span>` opening a subheading):
  precision mode prunes empty elements together with their tail, the text after them;
* a block carries a CSS spacing utility class ending in "bottom" ("margin-bottom",
  "padded-bottom", "no_margin_bottom"), which precision mode's page-bottom rule (a class
  token that starts or ends with "bottom") takes for footer chrome;
* the page is laid out with a table whose cell holds the article's paragraphs:
  trafilatura renders a table as rows of cells, and the whole cell, title, date,
  body and sidebar teasers, comes out as one line;
* a paragraph or heading is wrapped in a named anchor (`<a name="...">`, a jump
  target with no href): trafilatura counts its text as link text, and precision
  mode's link-density test deletes it as a link.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html
from trafilatura.settings import CUT_EMPTY_ELEMS
from trafilatura.xpaths import BODY_XPATH

_ARTICLE_BODY = etree.XPath("//*[@itemprop='articleBody']")
# Embedded posts whose text is part of the story (blockquote classes of the embed codes).
_EMBED_CLASS = re.compile(r"twitter-tweet|instagram-media|tiktok-embed")
# A wrapper of an embedded post holds little text besides the post.
EMBED_WRAPPER_SLACK = 100
# A chunk holds at least this much paragraph text to be part of the body.
MIN_CHUNK_CHARS = 200


# Inside an otherwise empty element these still show something (a line break, a rule, a
# table or an embedded frame): such an element is not empty and stays.
_VISIBLE_CONTENT = frozenset(
    {"br", "hr", "table", "iframe", "video", "audio", "object", "embed", "math", "textarea"}
)
_EMPTY_TAGS = tuple(sorted(CUT_EMPTY_ELEMS))


def drop_empty_before_text(tree: lxml_html.HtmlElement) -> int:
    """Drop empty elements that text follows, keeping that text; return how many.

    trafilatura's precision mode deletes the elements it would print as nothing (the
    tags of its CUT_EMPTY_ELEMS without text or children) and, unlike its default
    mode, their tails with them: the words after an icon or an anchor, often a whole
    subheading or the first sentence of a paragraph. An element that shows nothing
    (no text, nothing visible inside) is dropped here first, its tail moving onto
    what precedes it, so that nothing a reader sees depends on it.
    """
    empties = [
        el
        for el in tree.iter(*_EMPTY_TAGS)
        if el.tail
        and el.tail.strip()
        and not el.text_content().strip()
        and not any(d.tag in _VISIBLE_CONTENT for d in el.iterdescendants())
    ]
    for el in empties:
        el.drop_tree()
    return len(empties)


# A class token that names a box property's bottom side: layout, not page position.
_SPACING_BOTTOM = re.compile(
    r"(?:^|[_-])(?:margin|padding|padded|border|spacing|space|gap|offset|align|valign|"
    r"align-self|align-items|inset|no[_-]margin|no[_-]padding|m|p|mb|pb)[_-]bottom"
    r"(?:[_-](?:\w+))?$"
)
_CLASS_BOTTOM = etree.XPath("//*[contains(@class, 'bottom')]")


def drop_spacing_classes(tree: lxml_html.HtmlElement) -> int:
    """Drop the class tokens that style a box's bottom spacing; return how many elements
    lost one.

    trafilatura's precision mode deletes blocks whose class or id starts or ends with
    "bottom" (page-bottom chrome: "bottom", "bottom-bar", "article-bottom"). A CSS
    utility for the bottom margin, padding or border of a block ("margin-bottom",
    "padding-bottom", "no_margin_bottom", "border-bottom") ends in "bottom" too and
    sits on any block, the article's standfirst or body included. The token says how
    the box is spaced, nothing of what it holds.
    """
    count = 0
    for el in _CLASS_BOTTOM(tree):
        tokens = el.get("class", "").split()
        kept = [t for t in tokens if not _SPACING_BOTTOM.search(t.lower())]
        if len(kept) != len(tokens):
            el.set("class", " ".join(kept))
            count += 1
    return count


# A table cell holding this much paragraph text, in at least LAYOUT_CELL_PARAGRAPHS
# paragraphs, is a page region, not a datum: its table lays out the page.
LAYOUT_CELL_CHARS = 500
LAYOUT_CELL_PARAGRAPHS = 3


def mark_layout_tables(tree: lxml_html.HtmlElement) -> int:
    """Mark tables that lay out the page as presentational; return how many.

    A data table's cells hold values and short notes; a cell holding several
    paragraphs of prose is a column of the page. `role="presentation"` is how HTML
    says a table is for layout, and trafilatura then reads its cells as blocks of
    text, not as the cells of one row.
    """
    count = 0
    for table in tree.iter("table"):
        if table.get("role") in ("presentation", "none"):
            continue
        for cell in table.iter("td", "th"):
            paragraphs = [len(p.text_content().strip()) for p in cell.iter("p")]
            if len(paragraphs) >= LAYOUT_CELL_PARAGRAPHS and sum(paragraphs) >= LAYOUT_CELL_CHARS:
                table.set("role", "presentation")
                count += 1
                break
    return count


_ANCHOR_WITHOUT_HREF = etree.XPath("//a[not(@href)][@name or @id]")


def unwrap_anchors_without_href(tree: lxml_html.HtmlElement) -> int:
    """Replace jump targets (`<a name>` or `<a id>` without href) by their content;
    return how many.

    Such an `<a>` marks a place in the page for links to it, it is not a link:
    nothing about its text is navigation, and a reader sees plain text. (An `<a>`
    with neither href nor name is left alone: scripts make those clickable.)
    """
    anchors = [a for a in _ANCHOR_WITHOUT_HREF(tree) if a.text_content().strip()]
    for a in anchors:
        a.drop_tag()
    return len(anchors)


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


_HEADLINES = ("h1", "h2", "h3")


def _has_headline_outside(branch: lxml_html.HtmlElement, chunk: lxml_html.HtmlElement) -> bool:
    """Whether `branch` holds a heading that is not inside `chunk`."""
    return any(not any(a is chunk for a in h.iterancestors()) for h in branch.iter(*_HEADLINES))


def _own_headlines(first: lxml_html.HtmlElement, later: lxml_html.HtmlElement) -> bool:
    """Whether two chunks each sit in a container of their own with a headline beside them.

    The containers are the two children of the chunks' closest common ancestor that
    hold them: a story split over chunks has its headline above or beside the first
    chunk only, and the later chunks' containers hold body text alone.
    """
    first_path = [first, *first.iterancestors()]
    later_path = [later, *later.iterancestors()]
    common = next((a for a in later_path if a in first_path), None)
    if common is None:
        return False
    first_branch = first_path[first_path.index(common) - 1]
    later_branch = later_path[later_path.index(common) - 1]
    return _has_headline_outside(later_branch, later) and _has_headline_outside(first_branch, first)


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
        if _own_headlines(first, el):
            # Each under its own headline: the posts of a blog's front page, not one
            # story split by ad slots (whose chunks share the article's one headline).
            break
        chunks.append(el)
    for chunk in chunks[1:]:
        for child in list(chunk):
            first.append(child)
        chunk.drop_tree()
    return len(chunks) - 1
