"""RSS, Atom, RDF and CDF documents to entries through feedparser: the reference
behaviour, for whatever the fast path (`fastfeed`) is not certain about. Pure, no network."""

from __future__ import annotations

import calendar
import codecs
import re
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8

from services.common.errors import FeedParseError
from services.fetcher.parse.model import (
    ParsedEntry,
    ParsedFeed,
    article_link,
    digest,
    text_as_html,
    unique_id,
)

# feedparser tries the libxml2 SAX driver first on every parse; it is never installed,
# so the failed import cost ~50 us a poll. The standard expat driver is what runs anyway.
feedparser.api.PREFERRED_XML_PARSERS[:] = []


def _when(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)

# The document elements of RSS, Atom, RDF (RSS 0.90/1.0) and CDF, without a prefix.
_FEED_ROOTS = frozenset({b"rss", b"feed", b"rdf", b"channel"})
_COMMENTS = re.compile(rb"<!--.*?(?:-->|$)", re.S)
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)")

_SUBSET_TOKENS = re.compile(rb"""["'\[\]>]|<!--""")


def _subset_span(data: bytes, doctype: int) -> tuple[int, int] | None:
    """Where the internal subset `[...]` of the DOCTYPE at `doctype` is, quotes and
    comments respected; None when it has none. An unterminated subset: up to the end."""
    start, i = -1, doctype + len(b"<!DOCTYPE")
    while (m := _SUBSET_TOKENS.search(data, i)) is not None:
        token, i = m.group(), m.end()
        if token in (b'"', b"'"):
            i = data.find(token, i) + 1
        elif token == b"<!--":
            i = data.find(b"-->", i) + 3
        elif token == b"[" and start < 0:
            start = m.start()
        elif token == b"]" and start >= 0:
            return start, i
        elif token == b">" and start < 0:
            return None
        if i <= m.start():  # an unterminated quote or comment
            break
    return (start, len(data)) if start >= 0 else None


def _without_entity_declarations(body: bytes, headers: dict[str, str]) -> bytes | None:
    """The document as UTF-8 without DOCTYPE internal subsets; None if it has none.

    Entity declarations are how a few kilobytes become gigabytes (billion laughs,
    quadratic blowup), and feedparser only drops them when the DOCTYPE starts a
    line. Looked for in the text as feedparser decodes it (UTF-16/32, EBCDIC...),
    at every `<!DOCTYPE` (a decoy in a comment must not hide the real one).
    """
    data: bytes = convert_to_utf8(dict(headers), body, {})
    kept, pos, at = [], 0, data.find(b"<!DOCTYPE")
    while at >= 0:
        span = _subset_span(data, at)
        if span is not None:
            kept.append(data[pos : span[0]])
            pos = span[1]
        at = data.find(b"<!DOCTYPE", max(pos, at + 1))
    return b"".join([*kept, data[pos:]]) if kept else None


_HTML_CONTENT = ("text/html", "application/xhtml+xml", "html", "xhtml")


def best_content(contents: Any) -> str | None:
    """feedparser's `content` list (an item may carry several): the longest HTML one,
    else the first other one as text."""
    if not isinstance(contents, list):
        return None
    html_values: list[str] = []
    other: list[str] = []
    for part in contents:
        if not isinstance(part, dict) or not isinstance(part.get("value"), str):
            continue
        value = part["value"].strip()
        if not value:
            continue
        kind = str(part.get("type") or "").lower()
        (html_values if kind in _HTML_CONTENT else other).append(value)
    if html_values:
        return max(html_values, key=len)
    return text_as_html(other[0]) if other else None


def _refuse_empty(parsed: Any, data: bytes) -> None:
    """Raise FeedParseError for a parse that yields no entry because `data` (the body as
    UTF-8) is not a feed (an HTML page, any other XML) or is cut short.

    A feed with no items stays an empty feed, also when it is broken in ways feedparser
    reads past (HTML entities, an undeclared prefix): its end says it is complete. A
    broken feed that still yields entries never gets here: real feeds are often broken.
    """
    data = _COMMENTS.sub(b"", data)
    root = _ROOT.search(data)
    name = root.group(1) if root else b""
    if not parsed.get("version") and name.rpartition(b":")[2].lower() not in _FEED_ROOTS:
        shown = repr(name.decode("utf-8", "replace")[:40]) if name else "none"
        raise FeedParseError(f"not a feed: document element {shown}")
    problem = parsed.get("bozo_exception")
    if (
        root is not None
        and parsed.get("bozo")
        and not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe)
        and not re.search(rb"</" + re.escape(name) + rb"(?:[\s>]|$)", data[root.end() :])
    ):
        raise FeedParseError(f"feed cut short, no entries recovered: {problem!r}"[:300])


def parse_with_feedparser(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """An XML feed (RSS, Atom, RDF, CDF) through feedparser: the reference behaviour."""
    headers = {"content-type": content_type} if content_type else {}
    if body.startswith(_BOMS):
        # A byte order mark says how the bytes are encoded, whatever the Content-Type:
        # browsers and most readers go by it (WHATWG Encoding), where feedparser follows
        # RFC 3023 (text/xml without a charset is US-ASCII) and fails on UTF-16 bytes.
        headers = {"content-type": "application/xml"}
    try:
        defused = _without_entity_declarations(body, headers)
        if defused is not None:
            body, headers = defused, {"content-type": "application/xml"}  # now UTF-8
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    except Exception as exc:  # hostile input: &#xD800; raises UnicodeEncodeError in feedparser
        raise FeedParseError(f"feedparser failed: {type(exc).__name__}: {exc}"[:300]) from exc
    if not parsed.entries and parsed.get("bozo") and not parsed.feed:
        raise FeedParseError(f"not a feed: {parsed.get('bozo_exception')!r}"[:300])
    entries: list[ParsedEntry] = []
    used: set[str] = set()
    for item in parsed.entries:
        link = article_link(item, url)
        if not link:
            continue  # nothing to fetch
        guid = item.get("id") or None
        title = item.get("title") or None
        summary = item.get("summary") or None
        entry_id = unique_id(guid or link or digest(title, summary), link, title, summary, used)
        if entry_id is None:
            continue
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
                content=best_content(item.get("content")),
            )
        )
    if not entries:
        _refuse_empty(parsed, convert_to_utf8(dict(headers), body, {}))
    ttl = parsed.feed.get("ttl")
    ttl_seconds = int(ttl) * 60 if isinstance(ttl, str) and ttl.isdigit() else None
    return ParsedFeed(title=parsed.feed.get("title"), ttl_seconds=ttl_seconds, entries=entries)
