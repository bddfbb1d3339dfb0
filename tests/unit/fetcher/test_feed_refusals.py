"""What is not a feed is an error, what is an empty feed is not, and a byte order mark
decides the encoding: found by a reviewer and by fuzzing (issue 13).

An HTML page at a feed's address and a truncated RSS body used to parse as empty feeds:
no dead letter, and the feed was not counted as failing. UTF-16 with a BOM served as
text/xml was refused (feedparser reads text/xml without a charset as US-ASCII).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from services.common.errors import FeedParseError
from services.common.models import DeadLetter, FeedPoll, FeedRecord, decode, encode
from services.common.settings import Settings
from services.common.topics import DLQ
from services.fetcher.net.http import HttpClient
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import article_link
from services.fetcher.parse.sitemaps import root_tag, sitemap_kind
from services.fetcher.pipeline import load_state, poll_feed, register_feed
from tests.conftest import serve_locally

URL = "http://a/x"
ATOM_UTF16 = (
    '<?xml version="1.0" encoding="utf-16"?><feed xmlns="http://www.w3.org/2005/Atom">'
    '<entry><id>1</id><link href="http://a.example/1"/></entry></feed>'
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Just a page.</body></html>", "text/html"),
        (b"<html><body>Just a page.</body></html>", "application/rss+xml"),
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>', "text/xml"),
        (b'<rss version="2.0"><channel><item><title>x</ti', "application/rss+xml"),
        (b'<rss version="2.0"><channel><title>t</title><item><title>x</title>', None),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x', "application/atom+xml"),
        (b"", "application/rss+xml"),
        (b"Service temporarily unavailable", "text/plain"),
    ],
    ids=[
        "html",
        "html-as-rss",
        "xhtml",
        "rss-cut",
        "rss-cut-after-title",
        "atom-cut",
        "empty",
        "text",
    ],
)
def test_a_body_that_is_no_feed_or_is_cut_short_is_an_error(
    body: bytes, content_type: str | None
) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(body, url=URL, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'<rss version="2.0"><channel><title>t</title></channel></rss>', "application/rss+xml"),
        (b'<rss version="2.0"><channel><title>t</title></channel></rss>', "text/html"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>', None),
        # Broken in ways feedparser reads past, but complete: still just empty.
        (b"<rss><channel><title>caf&eacute;</title></channel></rss>", None),
        (b"<rss><channel><x:title>t</x:title></channel></rss>", "application/rss+xml"),
        (b"<!-- <html> --><rss><channel><title>t</title></channel></rss", None),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', None),
        (b"<CHANNEL><TITLE>CDF</TITLE></CHANNEL>", None),
    ],
    ids=["rss", "rss-as-html", "atom", "entity", "prefix", "comment", "rdf", "cdf"],
)
def test_a_feed_with_no_items_is_an_empty_feed(body: bytes, content_type: str | None) -> None:
    assert parse_feed(body, url=URL, content_type=content_type).entries == []


def test_a_broken_feed_that_yields_entries_keeps_them() -> None:
    # Cut short after a whole item, and a bare ampersand: what a reader still shows.
    body = (
        b'<rss version="2.0"><channel><item><title>A & B</title>'
        b"<link>http://a.example/1</link></item><item><title>x</ti"
    )
    assert [e.link for e in parse_feed(body, url=URL).entries] == ["http://a.example/1"]


@pytest.mark.parametrize("content_type", ["text/xml", "text/html", "text/plain", None])
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8"])
def test_a_byte_order_mark_decides_the_encoding(codec: str, content_type: str | None) -> None:
    boms = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-8": b"\xef\xbb\xbf"}
    body = boms.get(codec, b"") + ATOM_UTF16.replace("utf-16", codec).encode(codec)
    assert body[:2] in (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb")  # a BOM leads every case
    feed = parse_feed(body, url="http://f.example/x", content_type=content_type)
    assert [e.link for e in feed.entries] == ["http://a.example/1"]


def test_a_utf8_bom_beats_a_us_ascii_reading_of_text_xml() -> None:
    doc = '<rss version="2.0"><channel><item><title>Zürich</title><link>http://a.example/z</link></item></channel></rss>'
    [entry] = parse_feed(b"\xef\xbb\xbf" + doc.encode(), url=URL, content_type="text/xml").entries
    assert entry.title == "Zürich"


def test_an_undeclared_prefix_on_the_root_is_no_sitemap_and_no_crash() -> None:
    # etree.QName raised ValueError("Invalid tag name 'x:y'").
    root = root_tag(b"<x:y>urlset</x:y>")
    assert root is not None and (root.namespace, root.name) == (None, "x:y")
    assert sitemap_kind(b"<x:urlset>urlset</x:urlset>") is None
    with pytest.raises(FeedParseError):
        parse_feed(b"<x:y>urlset</x:y>", url=URL)
    prefixed = b'<s:urlset xmlns:s="http://www.sitemaps.org/schemas/sitemap/0.9"/>'
    assert sitemap_kind(prefixed) == "urlset"  # a declared prefix still counts


def test_a_plain_string_among_an_items_links_is_skipped() -> None:
    # feedparser leaves strings in `links` for some broken markup: AttributeError before.
    item = {"links": ["http://junk", {"href": "/a", "rel": "alternate"}], "link": ""}
    assert article_link(item, "http://a.example/feed") == "http://a.example/a"
    assert article_link({"links": ["x"], "link": "http://b.example/"}, URL) == "http://b.example/"


@dataclass
class Site:
    base: str = ""
    body: bytes = b""
    content_type: str = "application/rss+xml"
    table: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.base}/feed"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()

    async def feed(_: web.Request) -> web.Response:
        return web.Response(body=state.body, content_type=state.content_type)

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner, state.base = await serve_locally(app)
    register_feed(
        encode(FeedRecord(url=state.url)), key=state.url.encode(), partition=0, table=state.table
    )
    yield state
    await runner.cleanup()


async def _poll(site: Site) -> list[DeadLetter]:
    settings = Settings(allow_private_networks=True)
    client = HttpClient(settings)
    try:
        command = encode(FeedPoll(url=site.url, partition=0))
        outputs = await poll_feed(command, table=site.table, client=client, settings=settings)
    finally:
        await client.close()
    return [decode(DeadLetter, o.value) for o in outputs if o.topic == DLQ.name]


async def test_an_html_page_at_a_feed_address_is_dead_lettered_and_counted(site: Site) -> None:
    site.body, site.content_type = b"<html><body>Just a page.</body></html>", "text/html"
    [dead] = await _poll(site)
    assert dead.reason == "feed_parse" and "html" in dead.error
    state = load_state(site.table, site.url)
    assert state is not None and state.error_count == 1 and state.failing


async def test_an_empty_feed_is_no_failure(site: Site) -> None:
    site.body = b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    assert await _poll(site) == []
    state = load_state(site.table, site.url)
    assert state is not None and state.error_count == 0 and not state.failing
