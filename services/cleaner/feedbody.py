"""Articles from a feed entry's content or summary, for pages that were not requested or
gave nothing. Pure extraction, no Kafka: `extract_feed_content` runs in the cleaner's
worker processes like `extract.extract`."""

from __future__ import annotations

import html

from services.cleaner.cruft import Removed, filter_lines
from services.cleaner.extract import Extracted, extract
from services.common.errors import NoContentError
from services.common.htmltext import visible_lines
from services.common.models import BodySource, Entry, MetadataSource


def feed_source(entry: Entry) -> BodySource | None:
    """What the entry can stand in with for its page: content first, else summary."""
    if entry.content:
        return "feed_content"
    if entry.summary:
        return "feed_summary"
    return None


def wrap_fragment(content: str, title: str | None) -> str:
    """A feed's HTML fragment as a minimal document, so trafilatura reads it as a page:
    the entry's title in <title> lets the cleaner drop a headline the fragment repeats."""
    head = f"<title>{html.escape(title)}</title>" if title else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"{head}</head><body><article>{content}</article></body></html>"
    )


def _from_feed(sources: dict[str, MetadataSource]) -> dict[str, MetadataSource]:
    # Meta tags here are the wrapper's, made from the entry: the feed said so.
    return {name: "feed" if src == "meta" else src for name, src in sources.items()}


def _lines_only(lines: list[str], *, markdown: bool) -> Extracted:
    removed = Removed()
    kept = filter_lines(lines, removed)
    if not kept:
        raise NoContentError("the feed entry's text is empty once cruft is removed")
    return Extracted(
        title=None,
        byline=None,
        paragraphs=kept,
        removed=removed.as_dict(),
        markdown="\n\n".join(kept) if markdown else None,
    )


def extract_feed_content(
    content: str, title: str | None, *, max_chars: int, markdown: bool = False
) -> Extracted:
    """The entry's content cleaned by the page code (trafilatura, cruft rules). Content
    too short for trafilatura to call it an article is still the article the feed
    sent: then its visible text, line by line through the same cruft rules."""
    try:
        ext = extract(
            wrap_fragment(content, title), "text/html", max_chars=max_chars, markdown=markdown
        )
    except NoContentError:
        return _lines_only(visible_lines(content), markdown=markdown)
    ext.sources = _from_feed(ext.sources)
    if title is not None and ext.title == title:
        # The wrapper's own <title>: the article takes the entry's, marked as the feed's.
        ext.title = None
        ext.sources.pop("title", None)
    return ext


def extract_summary(summary: str, *, markdown: bool = False) -> Extracted:
    """The entry's summary as text: tags stripped, entities decoded, one paragraph a block."""
    return _lines_only(visible_lines(summary), markdown=markdown)
