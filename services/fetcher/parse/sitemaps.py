"""XML sitemaps and Google News sitemaps as feeds. Pure, no network.

A <urlset> becomes a ParsedFeed with one entry per <url> (entry id and link are
the <loc>; title, and the date when there is one, come from <news:news>). A
<sitemapindex> lists other sitemaps, not articles: parse_sitemap_index returns
its children, and parse_sitemap (hence parse_feed) raises SitemapIndexError,
which carries them, so a poller pointed at an index reports it instead of
silently finding nothing.

Parsing uses lxml with entity substitution, DTD loading and network access
off, so no entity is ever expanded (billion laughs, XXE); documents that
declare entities are refused, since an unexpanded reference would silently cut
a URL short.
"""

from __future__ import annotations

import email.utils
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple
from urllib.parse import urljoin

from lxml import etree

from services.common.errors import FeedParseError
from services.common.urls import web_url
from services.fetcher.parse.model import ParsedEntry, ParsedFeed

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
GZIP_MAGIC = b"\x1f\x8b"
# The sitemaps.org limit for one uncompressed sitemap: anything larger is not a sitemap.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
SNIFF_CHUNK = 16 * 1024

SitemapKind = Literal["urlset", "sitemapindex"]

_SAFE_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "load_dtd": False,
    "no_network": True,
    "huge_tree": False,  # keeps libxml2's limits on depth and text size
    "remove_comments": True,
    "remove_pis": True,
}
# `&` not starting a character or entity reference: the commonest sitemap bug is an
# unescaped query string in <loc>; escaping it recovers the URL unchanged.
_BARE_AMPERSAND = re.compile(rb"&(?!(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z_][\w.-]*);)")
_YEAR_OR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")


class RootTag(NamedTuple):
    """An XML document's root element: namespace, local name, namespaces declared on it."""

    namespace: str | None
    name: str
    namespaces: frozenset[str]


@dataclass(frozen=True)
class SitemapUrl:
    """One <url> of a <urlset>, with its Google News fields when it has <news:news>."""

    loc: str
    lastmod: datetime | None = None
    publication: str | None = None
    language: str | None = None
    publication_date: datetime | None = None
    title: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChildSitemap:
    """One <sitemap> of a <sitemapindex>."""

    url: str
    lastmod: datetime | None = None


class SitemapIndexError(FeedParseError):
    """A sitemap index stood where a feed was expected; `sitemaps` holds its children."""

    reason = "sitemap_index"

    def __init__(self, url: str, sitemaps: list[ChildSitemap]) -> None:
        shown = ", ".join(child.url for child in sitemaps[:3])
        more = f" and {len(sitemaps) - 3} more" if len(sitemaps) > 3 else ""
        super().__init__(
            f"{url} is a sitemap index, not a feed; poll its sitemaps instead: {shown}{more}"
        )
        self.sitemaps = sitemaps


def is_gzip(body: bytes) -> bool:
    """True when the body starts with the gzip magic number."""
    return body[:2] == GZIP_MAGIC


def gunzip(body: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> bytes:
    """Decompress gzip, refusing to inflate beyond max_bytes (a gzip bomb)."""
    out = bytearray()
    data = body
    while is_gzip(data):  # concatenated gzip members are one valid stream
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise FeedParseError(f"bad gzip data: {exc}") from exc
        if len(out) > max_bytes:
            raise FeedParseError(f"gzip body inflates beyond {max_bytes} bytes", reason="too_large")
        if not inflater.eof:
            raise FeedParseError("gzip body is truncated")
        data = inflater.unused_data
    return bytes(out)


def maybe_gunzip(body: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> bytes:
    """The body inflated if gzip (a .xml.gz served without Content-Encoding), else as is."""
    return gunzip(body, max_bytes=max_bytes) if is_gzip(body) else body


def root_tag(body: bytes) -> RootTag | None:
    """The root element of an XML body, read only as far as its start tag; None if there is none."""
    parser = etree.XMLPullParser(events=("start",), **_SAFE_PARSER_OPTIONS)
    for offset in range(0, len(body), SNIFF_CHUNK):
        failed = False
        try:
            parser.feed(body[offset : offset + SNIFF_CHUNK])
        except etree.XMLSyntaxError:
            # Events before the error are still queued: a document broken after its
            # root start tag (a bad entity, say) still says what it claims to be.
            failed = True
        for _event, element in parser.read_events():
            # Not etree.QName: it refuses the tag lxml keeps for an undeclared prefix
            # ("x:y", ValueError). Such a name is in no namespace, and no sitemap's.
            tag = str(element.tag)
            namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
            return RootTag(namespace or None, local, frozenset(element.nsmap.values()))
        if failed:
            return None
    return None


def sitemap_kind(body: bytes) -> SitemapKind | None:
    """Which sitemap the (possibly gzipped) body is: a <urlset>, a <sitemapindex>, or None."""
    body = maybe_gunzip(body)
    # Cheap test first (every feed poll asks): no root-name bytes and no UTF-16/32 NULs
    # mean no sitemap, without building a parser.
    if b"\x00" not in body[:1024] and b"urlset" not in body and b"sitemapindex" not in body:
        return None
    root = root_tag(body)
    if root is not None and root.name in ("urlset", "sitemapindex"):
        return "urlset" if root.name == "urlset" else "sitemapindex"
    return None


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A W3C Datetime (the sitemap date format) as aware UTC; RFC 822 dates are accepted too.

    A value without a time zone is taken as UTC; one that is no date at all gives None.
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        year_month = _YEAR_OR_MONTH.fullmatch(text)
        if year_month:  # "2024" and "2024-05" are valid W3C dates fromisoformat refuses
            return datetime(int(year_month[1]), int(year_month[2] or 1), 1, tzinfo=UTC)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            # Some generators write RSS-style dates ("Mon, 06 May 2024 07:08:09 GMT").
            parsed = email.utils.parsedate_to_datetime(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def parse_urlset(body: bytes, *, url: str) -> list[SitemapUrl]:
    """Every <url> of a (possibly gzipped) <urlset>, in order, each <loc> once.

    Relative <loc>s are resolved against `url`; those that are not http(s) are dropped.
    Raises SitemapIndexError for a <sitemapindex>, FeedParseError for anything else.
    """
    root = _document(body, url)
    name = etree.QName(root).localname
    if name == "sitemapindex":
        raise SitemapIndexError(url, _index_children(root, url))
    if name != "urlset":
        raise FeedParseError(f"{url}: root element <{name}> is not a sitemap")
    urls: list[SitemapUrl] = []
    seen: set[str] = set()
    for item in _children(root, "url"):
        loc = _absolute(_child_text(item, "loc"), url)
        if loc is None or loc in seen:
            continue
        seen.add(loc)
        lastmod = parse_w3c_datetime(_child_text(item, "lastmod"))
        news = _child(item, "news")
        if news is None:
            urls.append(SitemapUrl(loc=loc, lastmod=lastmod))
            continue
        publication = _child(news, "publication")
        keywords = _child_text(news, "keywords") or ""
        urls.append(
            SitemapUrl(
                loc=loc,
                lastmod=lastmod,
                publication=_child_text(publication, "name"),
                language=_child_text(publication, "language"),
                publication_date=parse_w3c_datetime(_child_text(news, "publication_date")),
                title=_child_text(news, "title"),
                keywords=tuple(k.strip() for k in keywords.split(",") if k.strip()),
            )
        )
    return urls


def parse_sitemap_index(body: bytes, *, url: str) -> list[ChildSitemap]:
    """The child sitemaps a (possibly gzipped) <sitemapindex> lists, in order, each once."""
    root = _document(body, url)
    name = etree.QName(root).localname
    if name != "sitemapindex":
        raise FeedParseError(f"{url}: root element <{name}> is not a sitemap index")
    return _index_children(root, url)


def parse_sitemap(body: bytes, *, url: str) -> ParsedFeed:
    """A <urlset> as a feed: entry id and link = <loc>; published = news date, else <lastmod>.

    The feed's title is the Google News publication name, if any; `updated` is <lastmod>.
    """
    urls = parse_urlset(body, url=url)
    entries = [
        ParsedEntry(
            entry_id=u.loc,
            link=u.loc,
            guid=None,
            title=u.title,
            summary=None,
            published=u.publication_date or u.lastmod,
            updated=u.lastmod,
        )
        for u in urls
    ]
    title = next((u.publication for u in urls if u.publication), None)
    return ParsedFeed(title=title, ttl_seconds=None, entries=entries)


def _document(body: bytes, url: str) -> Any:
    """The parsed root element; FeedParseError if the body is not safe, well-formed XML."""
    body = maybe_gunzip(body)
    try:
        root = etree.fromstring(body, etree.XMLParser(**_SAFE_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        fixed = _BARE_AMPERSAND.sub(b"&amp;", body)
        if fixed == body:
            raise FeedParseError(f"{url}: not well-formed XML: {exc}"[:300]) from exc
        try:
            root = etree.fromstring(fixed, etree.XMLParser(**_SAFE_PARSER_OPTIONS))
        except etree.XMLSyntaxError:
            raise FeedParseError(f"{url}: not well-formed XML: {exc}"[:300]) from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise FeedParseError(f"{url}: the document declares XML entities; sitemaps never need them")
    return root


def _index_children(root: Any, url: str) -> list[ChildSitemap]:
    children: list[ChildSitemap] = []
    seen: set[str] = set()
    for item in _children(root, "sitemap"):
        loc = _absolute(_child_text(item, "loc"), url)
        if loc is not None and loc not in seen:
            seen.add(loc)
            children.append(ChildSitemap(loc, parse_w3c_datetime(_child_text(item, "lastmod"))))
    return children


def _children(element: Any, name: str) -> list[Any]:
    # By local name: sitemaps in the wild use the 0.9 namespace, Google's old 0.84 one, or none.
    return [
        child
        for child in element
        if isinstance(child.tag, str) and etree.QName(child).localname == name
    ]


def _child(element: Any, name: str) -> Any:
    found = _children(element, name) if element is not None else []
    return found[0] if found else None


def _child_text(element: Any, name: str) -> str | None:
    child = _child(element, name)
    text = "".join(child.itertext()).strip() if child is not None else ""
    return text or None


def _absolute(loc: str | None, base: str) -> str | None:
    if not loc:
        return None
    try:
        joined = urljoin(base, loc)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return web_url(joined)
