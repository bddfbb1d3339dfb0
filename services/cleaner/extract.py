"""Pure extraction: a fetched page (HTML or plain text) to article fields. No Kafka here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from services.cleaner import bodyfix, metadata, rescue
from services.cleaner.cruft import Removed, drop_promo_lists, filter_lines, strip_html
from services.cleaner.markdown import drop_removed
from services.cleaner.markdown import render as render_markdown
from services.common.errors import ExtractionError, NoContentError, PageTooDeepError
from services.common.models import MetadataSource

PLAIN_TYPES = ("text/plain",)
HTML_TYPES = ("text/html", "application/xhtml+xml")
# A first line longer than this is prose, not a headline.
MAX_TITLE_CHARS = 250
# A main text shorter than this (about three short paragraphs) is where trafilatura's
# main extractor most often missed the article: its fallback extractors run there.
FALLBACK_BELOW_CHARS = 500
# Binary bodies served as text (an undecoded gzip stream, an image) decode to U+FFFD and
# control characters: at random bytes over a quarter of them in UTF-8, about an eighth in
# any single-byte charset. Text pages, even partly decoded in the wrong charset, stay far
# below this share (markup and spaces are ASCII).
MAX_JUNK_SHARE = 0.05
# Measured on the body's start: binary is junk throughout, and scanning whole pages
# cost about 5% of the cleaner's time.
JUNK_SAMPLE_CHARS = 10_000
_JUNK = re.compile(r"[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# HTML comments and processing instructions are dropped at parse time: left in the
# tree, trafilatura loses the text that follows a comment (mid-sentence on some sites).
_PARSER = lxml_html.HTMLParser(remove_comments=True, remove_pis=True)
# Every element an HtmlElement, chosen in C: lxml.html's own lookup calls a Python method
# for each element proxy created, a good part of the cost of walking the tree (ours and
# trafilatura's, whose copies keep the parser). Only the form-field classes are lost,
# and nothing here or in trafilatura uses their form API.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement,
        comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction,
        entity=lxml_html.HtmlEntity,
    )
)
_DEPTH_ERROR = etree.ErrorTypes.ERR_RESOURCE_LIMIT


@dataclass
class Extracted:
    title: str | None
    byline: str | None
    paragraphs: list[str]
    published: datetime | None = None
    site: str | None = None
    canonical_url: str | None = None
    language_hint: str | None = None
    removed: dict[str, int] = field(default_factory=dict)
    authors: list[str] = field(default_factory=list)
    modified: datetime | None = None
    top_image: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    sources: dict[str, MetadataSource] = field(default_factory=dict)
    markdown: str | None = None
    # Why the body came from the rescue extraction (rescue.py), None when it did not.
    rescued: rescue.Reason | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def extract(body: str, content_type: str, *, max_chars: int, markdown: bool = False) -> Extracted:
    """Dispatch on the media type; raise ExtractionError subclasses on failure."""
    if len(body) > max_chars:
        raise ExtractionError(
            f"page has {len(body)} characters, limit {max_chars}", reason="too_large"
        )
    if junk_share(body[:JUNK_SAMPLE_CHARS]) > MAX_JUNK_SHARE:
        raise NoContentError("page is binary or undecodable, not text")
    media = content_type.split(";")[0].strip().lower()
    if media in PLAIN_TYPES:
        result = extract_plain(body, markdown=markdown)
    elif media in HTML_TYPES or not media:
        result = extract_html(body, markdown=markdown)
    else:
        raise ExtractionError(f"cannot extract from {media!r}", reason="content_type")
    if not result.paragraphs:
        raise NoContentError("no article text found")
    return result


def junk_share(text: str) -> float:
    """The share of `text` that is U+FFFD or control characters (tab and newlines are text)."""
    return len(_JUNK.findall(text)) / len(text) if text else 0.0


def _blocks(text: str) -> list[str]:
    """Paragraphs of a plain text: runs of non-blank lines, joined with spaces."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    return blocks


def _take_head(
    paragraphs: list[str], titles: list[str], byline: str | None, removed: Removed
) -> tuple[list[str], str | None, bool]:
    """Take a title and a byline off the top of the body, where they open it.

    Returns the body, the byline and whether the byline was found in the body. Only
    the first few lines are looked at: a byline-shaped line deep in the article is
    content (a quoted sign-off, a photo credit) and stays.
    """
    body = list(paragraphs)
    title_keys = {metadata.normalise(t) for t in titles}
    from_body = False
    for _ in range(3):
        if not body:
            break
        head = body[0]
        if metadata.normalise(head) in title_keys:
            removed.add("title_in_body")
        elif byline and metadata.normalise(metadata.clean_byline(head)) == metadata.normalise(
            byline
        ):
            removed.add("byline_in_body")
        elif byline is None and metadata.looks_like_byline(head):
            byline = metadata.clean_byline(head)
            from_body = True
            removed.add("byline_in_body")
        else:
            break
        body.pop(0)
    return body, byline, from_body


def extract_plain(text: str, *, markdown: bool = False) -> Extracted:
    """A text/plain article: cruft lines out, first block the title, a byline block next."""
    removed = Removed()
    blocks = filter_lines(_blocks(text), removed)
    title = None
    if blocks and len(blocks[0]) <= MAX_TITLE_CHARS and not blocks[0].endswith("."):
        title = blocks.pop(0)
    body, byline, _ = _take_head(blocks, [title] if title else [], None, removed)
    sources: dict[str, MetadataSource] = {}
    if title:
        sources["title"] = "text"
    if byline:
        sources["authors"] = "text"
    return Extracted(
        title=title,
        byline=byline,
        paragraphs=body,
        authors=metadata.split_authors(byline) if byline else [],
        sources=sources,
        markdown="\n\n".join(body) if markdown else None,
        removed=removed.as_dict(),
    )


# XHTML pages open with an XML declaration; lxml refuses one in an already decoded
# string ("Unicode strings with encoding declaration are not supported"). The fetcher
# has decoded the body, so the declared encoding no longer applies: drop it.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


# Characters no XML tree may hold. libxml2's HTML parser keeps C0 controls in text, and
# trafilatura's Markdown pass, writing such text back into a tree, then raised ValueError
# (a crash, not a dead letter; found by `make fuzz`). They carry nothing a reader sees.
_NOT_XML = re.compile("[\x00-\x08\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_XML_SPACE = re.compile("[\x0b\x0c]")
# Both at once, to look first: a scan costs ~0.6 ms on a news page, and they are rare.
_NOT_XML_ANY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _parse(html: str) -> lxml_html.HtmlElement:
    html = _XML_DECLARATION.sub("", html, count=1)
    if _NOT_XML_ANY.search(html):
        html = _XML_SPACE.sub(" ", _NOT_XML.sub("", html))
    try:
        tree = lxml_html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    # libxml2 stops building the tree at its depth limit and drops everything below
    # and after it: the article would be silently cut, so the page is refused instead.
    if any(e.type == _DEPTH_ERROR and "depth" in e.message for e in _PARSER.error_log):
        raise PageTooDeepError("page nests elements deeper than the HTML parser's limit (256)")
    return tree


def _bare_extraction(tree: lxml_html.HtmlElement, *, fast: bool) -> Any:
    doc: Any = trafilatura.bare_extraction(
        tree,
        # Metadata comes from our own pass over the head (metadata.py), which is cheaper
        # than trafilatura's and records where each field came from.
        with_metadata=False,
        include_comments=False,
        # Measured on the article-extraction benchmark: precision gains outweigh the
        # small recall loss (F1 0.961 -> 0.966 together with the comment-free parser).
        favor_precision=True,
        include_tables=True,
        include_images=False,
        deduplicate=False,
        fast=fast,
    )
    if doc is None or not (doc.text or "").strip():
        return None
    return doc


def _main_text(tree: lxml_html.HtmlElement) -> Any:
    """trafilatura's main extractor alone, then its whole cascade when that found little.

    The cascade's comparison with readability and jusText took about 30% of the
    cleaner's time, on every page. On the article-extraction benchmark it changed 6
    pages of 181, and helped on 5: those where the main extractor gave under 340
    characters (or nothing), a few lines of a page whose article it missed. So it runs
    only below FALLBACK_BELOW_CHARS (trafilatura copies the tree it is given: the
    second run sees the same input as the first).
    """
    doc = _bare_extraction(tree, fast=True)
    if doc is None or len(doc.text) < FALLBACK_BELOW_CHARS:
        doc = _bare_extraction(tree, fast=False) or doc
    return doc


_SPACES = re.compile(r"\s+")


def _headings(doc: Any) -> set[str]:
    """The texts of the headings in trafilatura's result, whitespace collapsed."""
    return {_SPACES.sub(" ", "".join(h.itertext())).strip() for h in doc.body.iter("head")}


def drop_trailing_headings(lines: list[str], headings: set[str], removed: Removed) -> list[str]:
    """Drop headings that end the body: a heading introduces what follows it, and when
    nothing follows, what it introduced was not article text and is gone ("You may also
    like:", "Tell us what you think...", a newsletter form's title). A body that is one
    heading alone stays as it is."""
    kept = list(lines)
    while len(kept) > 1 and _SPACES.sub(" ", kept[-1]).strip() in headings:
        kept.pop()
        removed.add("trailing_heading")
    return kept


def _rescued_body(
    html: str,
    doc: Any,
    lines: list[str],
    mass: tuple[int, int],
    removed: Removed,
) -> tuple[list[str], rescue.Reason | None]:
    """The cleaner's lines, or trafilatura's default extraction's where the cleaner's
    are a small share of what that finds (rescue.py says why)."""
    chars = rescue.text_chars(" ".join(lines))
    if not rescue.needed(chars, *mass):
        return lines, None
    rescue_removed = Removed()
    rescued = filter_lines(rescue.default_extraction(html), rescue_removed)
    if not rescue.better(chars, rescue.text_chars(" ".join(rescued))):
        return lines, None
    # What was removed from the body that is published: the rescue's lines.
    removed.counts = rescue_removed.counts
    return rescued, "no_content" if doc is None else "short"


def extract_html(html: str, *, markdown: bool = False) -> Extracted:
    """HTML: drop cruft elements, let trafilatura find the article, then filter lines."""
    removed = Removed()
    tree = _parse(html)
    # Metadata is read before cruft removal: bylines often sit in elements the rules drop.
    md = metadata.read(tree)
    # Measured before anything is pruned: the pruning is one of the ways to lose an article.
    mass = rescue.masses(tree)
    strip_html(tree, removed)
    drop_promo_lists(tree, removed)
    bodyfix.protect_article_body(tree)
    bodyfix.protect_embeds(tree)
    bodyfix.merge_body_chunks(tree)
    bodyfix.drop_empty_before_text(tree)
    bodyfix.drop_spacing_classes(tree)
    bodyfix.mark_layout_tables(tree)
    bodyfix.unwrap_anchors_without_href(tree)
    doc = _main_text(tree)
    extracted = [line.strip() for line in str(doc.text).splitlines() if line.strip()] if doc else []
    own = filter_lines(extracted, removed)
    if doc is not None:
        own = drop_trailing_headings(own, _headings(doc), removed)
    lines, rescued = _rescued_body(html, doc, own, mass, removed)
    if not lines:
        raise NoContentError("trafilatura found no main text")
    body, byline, from_body = _take_head(lines, md.titles, md.byline, removed)
    if from_body and byline:
        md.byline, md.authors, md.sources["authors"] = (
            byline,
            metadata.split_authors(byline),
            "text",
        )
    metadata.dates_from_text(tree, md)
    # The Markdown follows the cleaner's own pass; a rescued body has none of its structure.
    if markdown and rescued is None and doc is not None:
        md_text: str | None = drop_removed(render_markdown(doc.body), extracted, body)
    else:
        md_text = "\n\n".join(body) if markdown else None
    return Extracted(
        title=md.title,
        byline=md.byline,
        paragraphs=body,
        published=md.published,
        site=md.site,
        canonical_url=md.canonical_url,
        language_hint=md.language,
        authors=md.authors,
        modified=md.modified,
        top_image=md.top_image,
        section=md.section,
        tags=md.tags,
        sources=md.sources,
        markdown=md_text,
        removed=removed.as_dict(),
        rescued=rescued,
    )
