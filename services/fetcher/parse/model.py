"""What every feed format parses into, and the helpers the formats share. Pure, no network.

The bottom of `services.fetcher.parse`: the format modules build ParsedFeed and
ParsedEntry from here, and nothing here imports them.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from services.common.urls import web_url


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
    # The item's full content as HTML (plain-text content escaped into paragraphs).
    content: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    ttl_seconds: int | None
    entries: list[ParsedEntry]


def digest(*parts: str | None) -> str:
    """A short stable digest of an entry's parts: its id when it has no id or link, and
    what tells apart two items that share one."""
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:32]


def unique_id(
    entry_id: str, link: str, title: str | None, summary: str | None, used: set[str]
) -> str | None:
    """The id, made unique within the feed; None for an exact repeat of an earlier item."""
    if entry_id in used:
        # Two distinct items sharing a GUID (a CMS bug): keep both apart by what they say.
        entry_id = f"{entry_id}#{digest(link, title, summary)}"
        if entry_id in used:
            return None  # the same item twice: one entry
    used.add(entry_id)
    return entry_id


def article_link(item: Any, base: str) -> str | None:
    """The entry's web address: its first alternate link of any type, else `link`, if http(s).

    Relative alternate links are resolved against `base` (the feed's URL), as a
    browser would. feedparser's `link` falls back to the Atom id or RSS guid (often
    a urn: or a bare token) when there is no link element: taken only if absolute.
    """
    candidates = [
        (str(ln["href"]).strip(), True)
        for ln in item.get("links", [])
        # feedparser leaves a plain string there for some broken markup
        if isinstance(ln, dict) and ln.get("href") and ln.get("rel", "alternate") == "alternate"
    ]
    candidates.append((str(item.get("link") or "").strip(), False))
    for href, resolve in candidates:
        try:
            if resolve and not urlsplit(href).scheme:
                href = urljoin(base, href)
        except ValueError:  # an unclosed [IPv6 bracket: not a URL to fetch
            continue
        if link := web_url(href):
            return link
    return None


_BLANK_LINES = re.compile(r"\n\s*\n")


def text_as_html(text: str) -> str | None:
    """Plain-text content as HTML paragraphs, so an entry's content is always HTML (a
    "<" in prose must not open a tag when the cleaner parses it)."""
    blocks = [b.strip() for b in _BLANK_LINES.split(text) if b.strip()]
    return "".join(f"<p>{html.escape(b)}</p>" for b in blocks) or None
