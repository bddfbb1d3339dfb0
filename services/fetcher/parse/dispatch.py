"""Any feed document to a ParsedFeed: picks the parser for its format. Pure, no network.

Sitemaps (also gzipped) first, then JSON Feed, then the lxml fast path for plain RSS 2.0
and Atom 1.0, and feedparser for everything the fast path is not certain about.
"""

from __future__ import annotations

from services.fetcher.parse import sitemaps
from services.fetcher.parse.fastfeed import parse_fast
from services.fetcher.parse.jsonfeed import parse_json_feed
from services.fetcher.parse.model import ParsedFeed
from services.fetcher.parse.rss import parse_with_feedparser


def _is_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed; raise FeedParseError when it is not a feed at all.

    A feed with recoverable XML problems (feedparser's `bozo`) still yields its
    entries: real feeds are often slightly broken and readers expect them to work.
    XML sitemaps (also gzipped) are feeds too: see services.fetcher.parse.sitemaps.
    """
    body = sitemaps.maybe_gunzip(body)
    if sitemaps.sitemap_kind(body) is not None:
        return sitemaps.parse_sitemap(body, url=url)
    if _is_json(body, content_type):
        return parse_json_feed(body)
    # Plain RSS 2.0 / Atom 1.0 in a fraction of feedparser's time; None when unsure.
    fast = parse_fast(body, url=url, content_type=content_type)
    if fast is not None:
        return fast
    return parse_with_feedparser(body, url=url, content_type=content_type)
