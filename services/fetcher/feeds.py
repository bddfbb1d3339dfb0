"""Feed documents to entries: feedparser for RSS/Atom/RDF/CDF. Pure, no network."""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from services.common.errors import FeedParseError


@dataclass(frozen=True)
class ParsedEntry:
    entry_id: str
    link: str
    guid: str | None
    title: str | None
    summary: str | None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    ttl_seconds: int | None
    entries: list[ParsedEntry]


def _when(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _digest(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:32]


def _article_link(item: Any) -> str | None:
    """The entry's web address: its first alternate link of any type, else `link`, if http(s).

    feedparser's `link` falls back to the Atom id (often a urn:) when the
    alternate link is not text/html, as for a plain-text syndication copy.
    """
    candidates = [
        ln.get("href") for ln in item.get("links", []) if ln.get("rel", "alternate") == "alternate"
    ]
    candidates.append(item.get("link"))
    for href in candidates:
        if href and href.lower().startswith(("http://", "https://")):
            return str(href)
    return None


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed; raise FeedParseError when it is not a feed at all.

    A feed with recoverable XML problems (feedparser's `bozo`) still yields its
    entries: real feeds are often slightly broken and readers expect them to work.
    """
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    if not parsed.entries and parsed.get("bozo") and not parsed.feed:
        raise FeedParseError(f"not a feed: {parsed.get('bozo_exception')!r}"[:300])
    entries: list[ParsedEntry] = []
    used: set[str] = set()
    for item in parsed.entries:
        link = _article_link(item)
        if not link:
            continue  # nothing to fetch
        guid = item.get("id") or None
        title = item.get("title") or None
        summary = item.get("summary") or None
        entry_id = guid or link or _digest(title, summary)
        if entry_id in used:
            # Two distinct items sharing a GUID (a CMS bug): keep both apart by link.
            entry_id = f"{entry_id}#{_digest(link, title)}"
        used.add(entry_id)
        authors = [a.get("name") for a in item.get("authors", []) if a.get("name")]
        entries.append(
            ParsedEntry(
                entry_id=entry_id,
                link=link,
                guid=guid,
                title=title,
                summary=summary,
                authors=authors,
                published=_when(item.get("published_parsed")),
                updated=_when(item.get("updated_parsed")),
            )
        )
    ttl = parsed.feed.get("ttl")
    ttl_seconds = int(ttl) * 60 if isinstance(ttl, str) and ttl.isdigit() else None
    return ParsedFeed(title=parsed.feed.get("title"), ttl_seconds=ttl_seconds, entries=entries)
