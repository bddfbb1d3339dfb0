"""Pure extraction: a fetched page (HTML or plain text) to article fields. No Kafka here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from services.cleaner import metadata
from services.cleaner.cruft import Removed, filter_lines, strip_html
from services.common.errors import ExtractionError, NoContentError

PLAIN_TYPES = ("text/plain",)
HTML_TYPES = ("text/html", "application/xhtml+xml")
# A first line longer than this is prose, not a headline.
MAX_TITLE_CHARS = 250


# HTML comments and processing instructions are dropped at parse time: left in the
# tree, trafilatura loses the text that follows a comment (mid-sentence on some sites).
_PARSER = lxml_html.HTMLParser(remove_comments=True, remove_pis=True)


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

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def extract(body: str, content_type: str, *, max_chars: int) -> Extracted:
    """Dispatch on the media type; raise ExtractionError subclasses on failure."""
    if len(body) > max_chars:
        raise ExtractionError(
            f"page has {len(body)} characters, limit {max_chars}", reason="too_large"
        )
    media = content_type.split(";")[0].strip().lower()
    if media in PLAIN_TYPES:
        result = extract_plain(body)
    elif media in HTML_TYPES or not media:
        result = extract_html(body)
    else:
        raise ExtractionError(f"cannot extract from {media!r}", reason="content_type")
    if not result.paragraphs:
        raise NoContentError("no article text found")
    return result


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
    paragraphs: list[str], title: str | None, byline: str | None, removed: Removed
) -> tuple[list[str], str | None, str | None]:
    """Take a title and a byline off the top of the body, where they open it.

    Only the first few lines are looked at: a byline-shaped line deep in the
    article is content (a quoted sign-off, a photo credit) and stays.
    """
    body = list(paragraphs)
    for _ in range(3):
        if not body:
            break
        head = body[0]
        if title and metadata.normalise(head) == metadata.normalise(title):
            removed.add("title_in_body")
        elif byline and metadata.normalise(metadata.clean_byline(head)) == metadata.normalise(
            byline
        ):
            removed.add("byline_in_body")
        elif byline is None and metadata.looks_like_byline(head):
            byline = metadata.clean_byline(head)
            removed.add("byline_in_body")
        else:
            break
        body.pop(0)
    return body, title, byline


def extract_plain(text: str) -> Extracted:
    """A text/plain article: cruft lines out, first block the title, a byline block next."""
    removed = Removed()
    blocks = filter_lines(_blocks(text), removed)
    title = None
    if blocks and len(blocks[0]) <= MAX_TITLE_CHARS and not blocks[0].endswith("."):
        title = blocks.pop(0)
    body, title, byline = _take_head(blocks, title, None, removed)
    return Extracted(title=title, byline=byline, paragraphs=body, removed=removed.as_dict())


def extract_html(html: str) -> Extracted:
    """HTML: drop cruft elements, let trafilatura find the article, then filter lines."""
    removed = Removed()
    try:
        tree = lxml_html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    # Metadata is read before cruft removal: bylines often sit in elements the rules drop.
    html_byline = metadata.byline_from_html(tree)
    html_title = metadata.title_from_html(tree)
    canonical = metadata.canonical_from_html(tree)
    published = metadata.published_from_html(tree)
    language = metadata.language_from_html(tree)
    site = metadata.first_attr(tree, "//meta[@property='og:site_name']/@content")
    strip_html(tree, removed)
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
    )
    if doc is None or not (doc.text or "").strip():
        raise NoContentError("trafilatura found no main text")
    lines = [line.strip() for line in str(doc.text).splitlines() if line.strip()]
    lines = filter_lines(lines, removed)
    title = html_title
    byline = html_byline
    body, title, byline = _take_head(lines, title, byline, removed)
    if published is None:
        published = metadata.published_from_text(tree)
    return Extracted(
        title=title,
        byline=byline,
        paragraphs=body,
        published=published,
        site=site,
        canonical_url=canonical,
        language_hint=language,
        removed=removed.as_dict(),
    )


def _plausible_author(author: str | None) -> str | None:
    # trafilatura sometimes returns a one-word fragment of a longer byline ("News").
    if not author or len(author) < 3:
        return None
    return author
