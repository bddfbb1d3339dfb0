"""Sitemaps as feeds (parse.sitemaps): plain, Google News, index, gzip, hostile XML, and
parse_feed's routing."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime

import pytest

from services.common.errors import FeedParseError
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import ParsedEntry
from services.fetcher.parse.sitemaps import (
    ChildSitemap,
    SitemapIndexError,
    SitemapUrl,
    gunzip,
    parse_sitemap,
    parse_sitemap_index,
    parse_urlset,
    parse_w3c_datetime,
    root_tag,
    sitemap_kind,
)

ANY_URL = "http://a/x"


def test_an_undeclared_prefix_on_the_root_is_no_sitemap_and_no_crash() -> None:
    # etree.QName raised ValueError("Invalid tag name 'x:y'").
    root = root_tag(b"<x:y>urlset</x:y>")
    assert root is not None and (root.namespace, root.name) == (None, "x:y")
    assert sitemap_kind(b"<x:urlset>urlset</x:urlset>") is None
    with pytest.raises(FeedParseError):
        parse_feed(b"<x:y>urlset</x:y>", url=ANY_URL)
    prefixed = b'<s:urlset xmlns:s="http://www.sitemaps.org/schemas/sitemap/0.9"/>'
    assert sitemap_kind(prefixed) == "urlset"  # a declared prefix still counts


URL = "https://news.example/sitemap.xml"


PLAIN = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url>
    <loc>
      https://news.example/a
    </loc>
    <lastmod>2024-05-06</lastmod>
    <changefreq>daily</changefreq>
  </url>
  <url><loc>/b?x=1&amp;y=2</loc><lastmod>2024-05-06T09:30:00+02:00</lastmod></url>
  <url><loc>https://news.example/a</loc><lastmod>2020-01-01</lastmod></url>
  <url><loc>ftp://news.example/c</loc></url>
  <url><lastmod>2024-01-01</lastmod></url>
  <url><loc>https://news.example/d</loc></url>
</urlset>
"""


NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://news.example/business/article55.html</loc>
    <lastmod>2024-05-07T00:00:00Z</lastmod>
    <news:news>
      <news:publication>
        <news:name>The Example Times</news:name>
        <news:language>en</news:language>
      </news:publication>
      <news:publication_date>2024-05-06T23:30:00-04:00</news:publication_date>
      <news:title>Companies A, B in Merger Talks</news:title>
      <news:keywords>business, merger, , acquisition</news:keywords>
    </news:news>
  </url>
  <url>
    <loc>https://news.example/world/article56.html</loc>
    <lastmod>2024-05-05</lastmod>
  </url>
</urlset>
"""


INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://news.example/sitemap-news.xml</loc><lastmod>2024-05-06</lastmod></sitemap>
  <sitemap><loc>/sitemap-2023.xml.gz</loc></sitemap>
  <sitemap><loc>https://news.example/sitemap-news.xml</loc></sitemap>
</sitemapindex>
"""


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://news.example/&lol9;</loc></url>
</urlset>
"""


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_plain_sitemap_entries_are_the_locs_in_order_each_once() -> None:
    feed = parse_sitemap(PLAIN, url=URL)
    assert feed.title is None and feed.ttl_seconds is None
    assert feed.entries == [
        ParsedEntry(
            entry_id="https://news.example/a",
            link="https://news.example/a",
            guid=None,
            title=None,
            summary=None,
            published=_utc(2024, 5, 6),
            updated=_utc(2024, 5, 6),
        ),
        ParsedEntry(
            entry_id="https://news.example/b?x=1&y=2",
            link="https://news.example/b?x=1&y=2",
            guid=None,
            title=None,
            summary=None,
            published=_utc(2024, 5, 6, 7, 30),
            updated=_utc(2024, 5, 6, 7, 30),
        ),
        ParsedEntry(
            entry_id="https://news.example/d",
            link="https://news.example/d",
            guid=None,
            title=None,
            summary=None,
        ),
    ]


def test_google_news_sitemap_fields() -> None:
    urls = parse_urlset(NEWS, url=URL)
    assert urls == [
        SitemapUrl(
            loc="https://news.example/business/article55.html",
            lastmod=_utc(2024, 5, 7),
            publication="The Example Times",
            language="en",
            publication_date=_utc(2024, 5, 7, 3, 30),
            title="Companies A, B in Merger Talks",
            keywords=("business", "merger", "acquisition"),
        ),
        SitemapUrl(loc="https://news.example/world/article56.html", lastmod=_utc(2024, 5, 5)),
    ]
    feed = parse_sitemap(NEWS, url=URL)
    assert feed.title == "The Example Times"
    first, second = feed.entries
    # The news publication date wins over <lastmod> for `published`.
    assert (first.title, first.published, first.updated) == (
        "Companies A, B in Merger Talks",
        _utc(2024, 5, 7, 3, 30),
        _utc(2024, 5, 7),
    )
    assert (second.title, second.published) == (None, _utc(2024, 5, 5))


def test_sitemap_index_lists_children_and_is_not_a_feed() -> None:
    assert parse_sitemap_index(INDEX, url=URL) == [
        ChildSitemap("https://news.example/sitemap-news.xml", _utc(2024, 5, 6)),
        ChildSitemap("https://news.example/sitemap-2023.xml.gz", None),
    ]
    for parse in (parse_sitemap, parse_feed):
        with pytest.raises(SitemapIndexError) as raised:
            parse(INDEX, url=URL)
        assert raised.value.reason == "sitemap_index"
        assert [c.url for c in raised.value.sitemaps] == [
            "https://news.example/sitemap-news.xml",
            "https://news.example/sitemap-2023.xml.gz",
        ]
    with pytest.raises(FeedParseError, match="not a sitemap index"):
        parse_sitemap_index(PLAIN, url=URL)


def test_gzipped_sitemap_parses_like_the_plain_one() -> None:
    packed = gzip.compress(NEWS)
    assert packed[:2] == b"\x1f\x8b"
    assert parse_sitemap(packed, url=URL) == parse_sitemap(NEWS, url=URL)
    assert parse_feed(packed, url=URL, content_type="application/x-gzip") == parse_sitemap(
        NEWS, url=URL
    )
    assert parse_sitemap_index(gzip.compress(INDEX), url=URL)[0].url.endswith("sitemap-news.xml")
    # Concatenated gzip members are one stream.
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd")) == b"abcd"


def test_gzip_is_inflated_only_up_to_the_cap() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 2_000_000 + b"</urlset>")
    assert len(bomb) < 10_000
    with pytest.raises(FeedParseError) as raised:
        gunzip(bomb, max_bytes=1_000_000)
    assert raised.value.reason == "too_large"
    assert len(gunzip(bomb, max_bytes=2_000_017)) == 2_000_017
    with pytest.raises(FeedParseError, match="truncated"):
        gunzip(gzip.compress(PLAIN)[:-20])
    with pytest.raises(FeedParseError, match="bad gzip"):
        parse_feed(b"\x1f\x8b" + b"\x00" * 40, url=URL)


def test_billion_laughs_is_refused_quickly_without_expansion() -> None:
    started = time.perf_counter()
    for parse in (parse_sitemap, parse_feed):
        with pytest.raises(FeedParseError):
            parse(BILLION_LAUGHS, url=URL)
    assert time.perf_counter() - started < 2.0
    # The root is still recognised, so it is the sitemap parser that refuses it.
    assert sitemap_kind(BILLION_LAUGHS) == "urlset"


def test_declared_entities_are_refused_not_expanded_or_dropped() -> None:
    internal = b"""<!DOCTYPE urlset [<!ENTITY x "EXPANDED">]>
    <urlset><url><loc>https://news.example/&x;</loc></url></urlset>"""
    external = b"""<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/hostname">]>
    <urlset><url><loc>https://news.example/&x;</loc></url></urlset>"""
    for doc in (internal, external):
        with pytest.raises(FeedParseError, match="declares XML entities"):
            parse_sitemap(doc, url=URL)
    # A DTD without entities is harmless and allowed.
    harmless = b"<!DOCTYPE urlset><urlset><url><loc>https://news.example/z</loc></url></urlset>"
    assert [e.link for e in parse_sitemap(harmless, url=URL).entries] == ["https://news.example/z"]


def test_unescaped_ampersands_in_locs_are_recovered_exactly() -> None:
    doc = b"<urlset><url><loc>https://news.example/?a=1&b=2&amp;c=3</loc></url></urlset>"
    [entry] = parse_sitemap(doc, url=URL).entries
    assert entry.link == "https://news.example/?a=1&b=2&c=3"
    with pytest.raises(FeedParseError, match="not well-formed"):
        parse_sitemap(b"<urlset><url><loc>https://news.example/</url></urlset>", url=URL)


def test_parse_feed_routes_sitemaps_by_root_element() -> None:
    prolog = (
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- generated -->\n<?xml-stylesheet href="s.xsl"?>\n'
    )
    body = prolog + PLAIN.split(b"?>", 1)[1]
    assert sitemap_kind(body) == "urlset"
    assert parse_feed(body, url=URL, content_type="text/xml") == parse_sitemap(PLAIN, url=URL)
    utf16 = NEWS.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")
    assert parse_feed(utf16, url=URL) == parse_sitemap(NEWS, url=URL)
    assert sitemap_kind(INDEX) == "sitemapindex"
    # A feed that merely mentions <urlset> is still read as RSS.
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>
      <item><title>&lt;urlset&gt;</title><link>https://news.example/r</link></item>
    </channel></rss>"""
    assert sitemap_kind(rss) is None
    feed = parse_feed(rss, url="https://news.example/rss")
    assert (feed.title, [e.title for e in feed.entries]) == ("R", ["<urlset>"])
    assert sitemap_kind(b'{"version": "https://jsonfeed.org/version/1.1"}') is None


def test_a_long_prolog_does_not_hide_the_root() -> None:
    # Longer than one sniffing chunk, so the root start tag arrives in a later one.
    body = b"<?xml version='1.0'?><!--" + b"x" * 40_000 + b"-->" + PLAIN.split(b"?>", 1)[1]
    assert sitemap_kind(body) == "urlset"
    assert parse_feed(body, url=URL) == parse_sitemap(PLAIN, url=URL)


def test_a_gzipped_rss_feed_is_inflated_too() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>
      <item><title>One</title><link>https://news.example/r</link></item></channel></rss>"""
    feed = parse_feed(gzip.compress(rss), url="https://news.example/rss.xml.gz")
    assert (feed.title, [e.link for e in feed.entries]) == ("R", ["https://news.example/r"])


def test_not_a_sitemap() -> None:
    with pytest.raises(FeedParseError, match="<html> is not a sitemap"):
        parse_sitemap(b"<html><body>hi</body></html>", url=URL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", _utc(2024, 1, 1)),
        ("2024-05", _utc(2024, 5, 1)),
        ("2024-05-06", _utc(2024, 5, 6)),
        ("2024-05-06T07:08+02:00", _utc(2024, 5, 6, 5, 8)),
        ("2024-05-06T07:08:09.5Z", datetime(2024, 5, 6, 7, 8, 9, 500_000, tzinfo=UTC)),
        ("2024-05-06T07:08:09", _utc(2024, 5, 6, 7, 8, 9)),
        ("Mon, 06 May 2024 07:08:09 GMT", _utc(2024, 5, 6, 7, 8, 9)),
        ("2024-13", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_w3c_datetimes(text: str | None, expected: datetime | None) -> None:
    parsed = parse_w3c_datetime(text)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC
