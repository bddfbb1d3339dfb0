"""Feed documents to entries: feedparser for RSS/Atom/RDF/CDF. Pure, no network."""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.encodings import convert_to_utf8

from services.common.errors import FeedParseError
from services.common.urls import web_url

# feedparser tries the libxml2 SAX driver first on every parse; it is never installed,
# so the failed import cost ~50 us a poll. The standard expat driver is what runs anyway.
feedparser.api.PREFERRED_XML_PARSERS[:] = []


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


def _when(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _digest(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:32]


def _article_link(item: Any, base: str) -> str | None:
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


def _is_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


_BLANK_LINES = re.compile(r"\n\s*\n")


def text_as_html(text: str) -> str | None:
    """Plain-text content as HTML paragraphs, so an entry's content is always HTML (a
    "<" in prose must not open a tag when the cleaner parses it)."""
    blocks = [b.strip() for b in _BLANK_LINES.split(text) if b.strip()]
    return "".join(f"<p>{html.escape(b)}</p>" for b in blocks) or None


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


def parse_json_feed(body: bytes) -> ParsedFeed:
    """JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedParseError(f"invalid JSON feed: {exc}"[:300]) from exc
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedParseError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError("JSON Feed without an items list")
    entries: list[ParsedEntry] = []
    used: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        candidates = (item.get("url"), item.get("external_url"))
        link = next((u for c in candidates if isinstance(c, str) and (u := web_url(c))), None)
        if link is None:
            continue
        guid = _text(item.get("id")) if not isinstance(item.get("id"), int) else str(item["id"])
        title = _text(item.get("title"))
        summary = _text(item.get("summary")) or _text(item.get("content_text"))
        content_text = _text(item.get("content_text"))
        content = _text(item.get("content_html")) or (
            text_as_html(content_text) if content_text else None
        )
        entry_id = _unique(guid or link or _digest(title, summary), link, title, summary, used)
        if entry_id is None:
            continue
        people = item.get("authors") or (
            [item["author"]] if isinstance(item.get("author"), dict) else []
        )
        if not isinstance(people, list):
            people = []
        authors = [str(a["name"]) for a in people if isinstance(a, dict) and a.get("name")]
        entries.append(
            ParsedEntry(
                entry_id=entry_id,
                link=link,
                guid=guid,
                title=title,
                summary=summary,
                authors=authors,
                published=_iso(item.get("date_published")),
                updated=_iso(item.get("date_modified")),
                content=content,
            )
        )
    return ParsedFeed(title=_text(doc.get("title")), ttl_seconds=None, entries=entries)


def _unique(
    entry_id: str, link: str, title: str | None, summary: str | None, used: set[str]
) -> str | None:
    """The id, made unique within the feed; None for an exact repeat of an earlier item."""
    if entry_id in used:
        # Two distinct items sharing a GUID (a CMS bug): keep both apart by what they say.
        entry_id = f"{entry_id}#{_digest(link, title, summary)}"
        if entry_id in used:
            return None  # the same item twice: one entry
    used.add(entry_id)
    return entry_id


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed; raise FeedParseError when it is not a feed at all.

    A feed with recoverable XML problems (feedparser's `bozo`) still yields its
    entries: real feeds are often slightly broken and readers expect them to work.
    XML sitemaps (also gzipped) are feeds too: see services.fetcher.sitemaps.
    """
    # Imported here because sitemaps builds on this module's ParsedFeed and ParsedEntry.
    from services.fetcher import sitemaps

    body = sitemaps.maybe_gunzip(body)
    if sitemaps.sitemap_kind(body) is not None:
        return sitemaps.parse_sitemap(body, url=url)
    if _is_json(body, content_type):
        return parse_json_feed(body)
    # Plain RSS 2.0 / Atom 1.0 in a fraction of feedparser's time; None when unsure.
    from services.fetcher.fastfeed import parse_fast

    fast = parse_fast(body, url=url, content_type=content_type)
    if fast is not None:
        return fast
    return parse_with_feedparser(body, url=url, content_type=content_type)


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
        link = _article_link(item, url)
        if not link:
            continue  # nothing to fetch
        guid = item.get("id") or None
        title = item.get("title") or None
        summary = item.get("summary") or None
        entry_id = _unique(guid or link or _digest(title, summary), link, title, summary, used)
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
