"""Property-based tests of the fetcher.

(a) Generated RSS, Atom and JSON Feed documents through `parse_feed`.
(b) Misbehaving HTTP servers on 127.0.0.1 through `HttpClient.get` and `poll_feed`:
    slow and endless bodies, wrong Content-Length, gzip bombs, redirect loops, 429,
    and the SSRF guard on every redirect hop.

Nothing here talks to anything but 127.0.0.1: every test that could reach another
address runs with a connection spy that refuses (and records) any non-loopback
connection, and asserts that none was attempted.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

import feedparser.mixin
import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.common.errors import (
    FeedParseError,
    FetchError,
    HttpStatusError,
    TooLargeError,
)
from services.common.models import DeadLetter, FeedPoll, FeedRecord, decode, encode
from services.common.settings import Settings
from services.common.topics import DLQ, ENTRIES
from services.fetcher.net import guard
from services.fetcher.net.http import HttpClient
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import ParsedFeed
from services.fetcher.pipeline import load_state, poll_feed, register_feed

T = TypeVar("T")
FEED_URL = "http://feeds.example/news/feed.xml"
CAP = 100_000
READ_TIMEOUT = 0.5

# ============================================================================================
# (a) generated feeds
# ============================================================================================

ODD_TEXT = [
    "&amp;",
    "&lt;tag&gt;",
    "&nbsp;",
    "&eacute;",
    "&#8217;",
    "&#x1F600;",
    "&#0;",
    "&#xFFFE;",
    "&bogus;",
    "&",
    "<b>bold</b>",
    "]]>",
    "<![CDATA[x]]>",
    "\x00",
    "\x0b",
    "\u2028",
    "\ufeff",
    "💥",
    "Ünïcödé",
    "日本語",
    "\u202e",
    "<script>alert(1)</script>",
]
texts = st.one_of(
    st.text(max_size=25),
    st.sampled_from(ODD_TEXT),
    st.lists(st.sampled_from(ODD_TEXT) | st.text(max_size=5), max_size=4).map("".join),
)
hosts = st.sampled_from(["news.example", "EXAMPLE.org", "a.b.example", "xn--bcher-kva.example"])
paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./~%", max_size=20)
queries = st.sampled_from(["", "?a=1", "?a=1&b=2", "?q=%C3%A9&utm_source=x"])
good_links = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}/{path.lstrip('/')}{query}",
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    hosts,
    paths,
    queries,
)
other_links = st.sampled_from(
    [
        "",
        "/relative/path",
        "relative",
        "//proto-relative.example/x",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "ftp://files.example/a",
        "data:text/html,hi",
        " http://padded.example/x ",
        "http://",
        "http:///nohost",
    ]
)
links = st.one_of(st.none(), good_links, other_links, texts)
guid_pool = st.sampled_from(
    ["g1", "g2", "tag:example.com,2024:1", "urn:uuid:1", "", "  ", "&amp;g", "http://x.example/p"]
)
guids = st.one_of(st.none(), guid_pool, texts)


@dataclass(frozen=True)
class Item:
    title: str | None
    link: str | None
    guid: str | None
    summary: str | None


items = st.builds(Item, st.none() | texts, links, guids, st.none() | texts)
# Render modes: escaped (well-formed), raw (often broken XML), CDATA.
modes = st.sampled_from(["escaped", "raw", "cdata"])


def _text_node(value: str, mode: str) -> str:
    if mode == "raw":
        return value
    if mode == "cdata":
        return f"<![CDATA[{value}]]>"
    return escape(value)


def _attr(value: str, mode: str) -> str:
    return f'"{value}"' if mode == "raw" else quoteattr(value)


def _element(name: str, value: str | None, mode: str) -> str:
    return "" if value is None else f"<{name}>{_text_node(value, mode)}</{name}>"


def render_rss(title: str, entries: list[Item], mode: str) -> str:
    body = "".join(
        "<item>"
        + _element("title", it.title, mode)
        + _element("link", it.link, mode)
        + _element("guid", it.guid, mode)
        + _element("description", it.summary, mode)
        + "</item>"
        for it in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"{_element('title', title, mode)}<link>http://feeds.example/</link>{body}"
        "</channel></rss>"
    )


def render_atom(title: str, entries: list[Item], mode: str) -> str:
    body = "".join(
        "<entry>"
        + _element("id", it.guid, mode)
        + _element("title", it.title, mode)
        + ("" if it.link is None else f'<link rel="alternate" href={_attr(it.link, mode)}/>')
        + '<link rel="enclosure" href="http://cdn.example/file.mp3"/>'
        + _element("summary", it.summary, mode)
        + "</entry>"
        for it in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"{_element('title', title, mode)}{body}</feed>"
    )


def render_json(title: str, entries: list[Item]) -> str:
    out: list[dict[str, Any]] = []
    for it in entries:
        item: dict[str, Any] = {}
        for key, value in (("id", it.guid), ("url", it.link), ("title", it.title)):
            if value is not None:
                item[key] = value
        if it.summary is not None:
            item["content_text"] = it.summary
        out.append(item)
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": out})


@st.composite
def feed_items(draw: st.DrawFn, max_copies: int = 3) -> list[Item]:
    """Items, some repeated verbatim (as CMSs do), up to max_copies times each."""
    base = draw(st.lists(items, max_size=8))
    copies = draw(st.lists(st.integers(0, max(len(base) - 1, 0)), max_size=4)) if base else []
    result = list(base)
    for index in copies:
        if result.count(base[index]) < max_copies:
            result.insert(draw(st.integers(0, len(result))), base[index])
    return result


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, str | None, list[Item], str, str]:
    kind = draw(st.sampled_from(["rss", "atom", "json"]))
    title = draw(texts)
    entries = draw(feed_items())
    mode = draw(modes) if kind != "json" else "escaped"
    if kind == "rss":
        text = render_rss(title, entries, mode)
    elif kind == "atom":
        text = render_atom(title, entries, mode)
    else:
        text = render_json(title, entries)
    codec = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1"]))
    if codec == "latin-1":
        text = text.replace('encoding="utf-8"', 'encoding="iso-8859-1"')
        body = text.encode("latin-1", errors="xmlcharrefreplace" if kind != "json" else "replace")
    else:
        body = text.replace('encoding="utf-8"', f'encoding="{codec}"').encode(codec, "replace")
    content_type = draw(
        st.sampled_from(
            [None, "application/rss+xml", "application/atom+xml", "text/xml", "text/html"]
            if kind != "json"
            else [None, "application/feed+json", "application/json"]
        )
    )
    return body, content_type, entries, kind, mode


def _parse(body: bytes, content_type: str | None) -> ParsedFeed | None:
    """parse_feed, where the only acceptable failure is FeedParseError."""
    try:
        return parse_feed(body, url=FEED_URL, content_type=content_type)
    except FeedParseError:
        return None


def _must_parse(body: bytes, content_type: str | None, kind: str, mode: str) -> bool:
    """Documents any feed reader reads: well-formed XML, and JSON Feed in UTF-8 (its only
    encoding). Without this, a parser that refused everything would pass the properties.

    Left out: UTF-16 XML served as text/*. feedparser follows RFC 3023 there (text/xml
    without a charset is US-ASCII, whatever the BOM says) and refuses the document."""
    utf16 = body.startswith((b"\xff\xfe", b"\xfe\xff"))
    if kind == "json":
        return not utf16
    return mode == "escaped" and not (utf16 and (content_type or "").startswith("text/"))


def _is_http_link(link: str) -> bool:
    return urlsplit(link).scheme.lower() in ("http", "https") and link[:8].lower().startswith(
        ("http://", "https://")
    )


@settings(
    database=None, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(documents())
def test_generated_feeds_parse_safely_into_http_entries_deterministically(
    doc: tuple[bytes, str | None, list[Item], str, str],
) -> None:
    body, content_type, _, kind, mode = doc
    parsed = _parse(body, content_type)
    if parsed is None:
        assert not _must_parse(body, content_type, kind, mode), body[:300]
        return
    for entry in parsed.entries:
        assert _is_http_link(entry.link), entry.link
    again = _parse(body, content_type)
    assert again is not None
    assert [(e.entry_id, e.link) for e in again.entries] == [
        (e.entry_id, e.link) for e in parsed.entries
    ]


THREE_SHARING_A_LINK = (
    b'<rss version="2.0"><channel>'
    + b"<item><link>http://a.example/1</link><description>%d</description></item>" * 3 % (1, 2, 3)
    + b"<item><link>http://a.example/1</link><description>3</description></item>"
    + b"</channel></rss>",
    None,
    [],
    "rss",
    "escaped",
)


@settings(
    database=None, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@example(doc=THREE_SHARING_A_LINK)
@given(documents())
def test_generated_feeds_have_unique_entry_ids(
    doc: tuple[bytes, str | None, list[Item], str, str],
) -> None:
    """Items sharing a guid or link (even three times, or verbatim) never share an id."""
    parsed = _parse(doc[0], doc[1])
    assert parsed is not None or not _must_parse(*doc[:2], *doc[3:]), doc[0][:300]
    ids = [e.entry_id for e in parsed.entries] if parsed else []
    assert len(set(ids)) == len(ids), ids


def _scheme_lowered(link: str) -> str:
    scheme, sep, rest = link.partition(":")
    return scheme.lower() + sep + rest


def _expected_links(entries: list[Item]) -> list[str]:
    return [
        _scheme_lowered(it.link) for it in entries if it.link is not None and _is_http_link(it.link)
    ]


@settings(database=None, max_examples=200, deadline=None)
@given(
    st.sampled_from(["rss", "atom", "json"]),
    st.lists(
        st.builds(
            Item,
            st.none() | st.text(max_size=15),
            st.none() | good_links | st.sampled_from(["", "mailto:a@b.example", "urn:x:1"]),
            st.none() | st.sampled_from(["g1", "g2", "urn:uuid:1", "tag:x.example,2024:1"]),
            st.none() | st.text(max_size=15),
        ),
        max_size=6,
    ),
)
def test_well_formed_feeds_keep_every_absolute_link(kind: str, entries: list[Item]) -> None:
    """No absolute http(s) link is lost from a well-formed document, none is invented."""
    text = {
        "rss": lambda: render_rss("t", entries, "escaped"),
        "atom": lambda: render_atom("t", entries, "escaped"),
        "json": lambda: render_json("t", entries),
    }[kind]()
    parsed = parse_feed(text.encode(), url=FEED_URL)
    got = [_scheme_lowered(e.link) for e in parsed.entries]
    expected = _expected_links(entries)
    # Every absolute link survives; repeated items may collapse into one entry.
    assert set(got) == set(expected)
    assert len(set(expected)) <= len(got) <= len(expected)


@settings(database=None, max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda p, b: p + b,
            st.sampled_from([b"<?xml", b"<rss", b"{", b"\xef\xbb\xbf", b"\x1f\x8b\x08\x00"]),
            st.binary(max_size=200),
        ),
    )
)
def test_arbitrary_bytes_raise_nothing_but_feed_parse_error(body: bytes) -> None:
    _parse(body, None)
    _parse(body, "application/rss+xml")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(database=None, max_examples=200, deadline=None)
@example(field="authors", value=5)
@given(st.sampled_from(["authors", "author", "id", "url", "title", "date_published"]), json_values)
def test_json_feed_fields_of_any_type_raise_nothing_but_feed_parse_error(
    field: str, value: Any
) -> None:
    item = {"url": "http://news.example/1", field: value}
    doc = {"version": "https://jsonfeed.org/version/1.1", "items": [item]}
    _parse(json.dumps(doc).encode(), "application/feed+json")


def test_deeply_nested_json_raises_nothing_but_feed_parse_error() -> None:
    _parse(b'{"version": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None)


BAD_CHARREFS = ["&#xD800;", "&#xDFFF;", "&#x110000;", "&#1114112;", "&#99999999999999;"]


@pytest.mark.parametrize("ref", BAD_CHARREFS)
@pytest.mark.parametrize("closed", [True, False], ids=["well-formed", "broken"])
def test_bad_character_references_raise_nothing_but_feed_parse_error(
    ref: str, closed: bool
) -> None:
    doc = (
        '<rss version="2.0"><channel><item><link>http://a.example/1</link>'
        f"<title>a {ref} b</title></item></channel>" + ("</rss>" if closed else "<oops")
    )
    _parse(doc.encode(), "application/rss+xml")


def test_links_without_a_host_are_not_entries() -> None:
    body = "".join(f"<item><link>{link}</link></item>" for link in ("http://", "https://"))
    doc = f'<rss version="2.0"><channel>{body}</channel></rss>'.encode()
    assert [e.link for e in parse_feed(doc, url=FEED_URL).entries] == []


def test_links_that_are_not_urls_are_not_entries() -> None:
    bad = ("http://[oops/x", "http://a.example:99999/x", "http://a.example:port/x")
    body = "".join(f"<item><link>{link}</link></item>" for link in bad)
    doc = f'<rss version="2.0"><channel>{body}</channel></rss>'.encode()
    assert [e.link for e in parse_feed(doc, url=FEED_URL).entries] == []


def test_relative_links_resolve_against_the_feed_url() -> None:
    doc = b"""<rss version="2.0"><channel><item><guid>a</guid><link>/story/1</link></item>
      <item><guid>b</guid><link>story/2</link></item></channel></rss>"""
    links = [e.link for e in parse_feed(doc, url=FEED_URL).entries]
    assert links == ["http://feeds.example/story/1", "http://feeds.example/news/story/2"]


# --- entity expansion ------------------------------------------------------------------------


def billion_laughs(levels: int, layout: str) -> str:
    """The classic: each level references the previous ten times (10**levels * 'lol')."""
    sep = "\n" if layout == "lines" else ""
    ents = sep.join(
        ['<!ENTITY lol0 "lol">']
        + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)]
    )
    gap = "\n" if layout in ("lines", "newline") else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{gap}<!DOCTYPE rss [{sep}{ents}{sep}]>{gap}'
        f'<rss version="2.0"><channel><title>&lol{levels};</title><item><title>&lol{levels};'
        f"</title><link>http://a.example/1</link><description>&lol{levels};</description>"
        "</item></channel></rss>"
    )


def quadratic_blowup(value_size: int, refs: int, layout: str) -> str:
    """One entity without references, used many times: no nesting, still huge."""
    gap = "\n" if layout in ("lines", "newline") else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{gap}<!DOCTYPE rss [{gap}'
        f'<!ENTITY a "{"A" * value_size}">{gap}]>{gap}<rss version="2.0"><channel>'
        "<title>t</title><item><title>x</title><link>http://a.example/1</link>"
        f"<description>{'&a;' * refs}</description></item></channel></rss>"
    )


@pytest.fixture
def expanded_chars(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts the characters feedparser's handlers receive: entity expansion shows up here."""
    seen = [0]
    real = feedparser.mixin._FeedParserMixin.handle_data

    def counting(self: Any, text: str, escape: int = 1) -> Any:
        seen[0] += len(text)
        return real(self, text, escape)

    monkeypatch.setattr(feedparser.mixin._FeedParserMixin, "handle_data", counting)
    return lambda: seen[0]


def _bounded_parse(doc: bytes, expanded_chars: Callable[[], int]) -> None:
    started = time.perf_counter()
    parsed = _parse(doc, "application/rss+xml")
    seconds = time.perf_counter() - started
    out = 0 if parsed is None else sum(len(e.summary or "") for e in parsed.entries)
    assert seconds < 10, f"parse took {seconds:.1f}s"
    assert out < 1_000_000, f"entities expanded into a {out}-character summary"
    assert expanded_chars() < 1_000_000, f"feedparser received {expanded_chars()} characters"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_on_separate_lines_is_bounded(
    encoding: str, expanded_chars: Callable[[], int]
) -> None:
    doc = billion_laughs(9, "lines").replace("utf-8", encoding).encode(encoding)
    _bounded_parse(doc, expanded_chars)


@pytest.mark.parametrize(
    "doc",
    [
        # The DOCTYPE on the XML declaration's line slips past feedparser's filter.
        billion_laughs(9, "inline").encode(),
        billion_laughs(9, "inline").replace("utf-8", "utf-16").encode("utf-16"),
        # A decoy DOCTYPE in a comment before the real one.
        billion_laughs(9, "inline")
        .replace("?><!DOCTYPE", "?><!-- <!DOCTYPE x> --><!DOCTYPE")
        .encode(),
        # One big entity without references, used many times: feedparser keeps it.
        quadratic_blowup(1_000, 2_000, "inline").encode(),
        quadratic_blowup(1_000, 2_000, "lines").encode(),
    ],
    ids=["billion-inline", "billion-utf16", "billion-decoy", "quadratic-inline", "quadratic-lines"],
)
def test_entity_expansion_is_refused_or_bounded(
    doc: bytes, expanded_chars: Callable[[], int]
) -> None:
    _bounded_parse(doc, expanded_chars)


# ============================================================================================
# (b) misbehaving servers on 127.0.0.1
# ============================================================================================

GOOD_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title><item><guid>1</guid>'
    b"<link>http://news.example/1</link><title>one</title></item></channel></rss>"
)
_compressed: dict[tuple[str, int], bytes] = {}


def _bomb(coding: str, size: int) -> bytes:
    if (coding, size) not in _compressed:
        zeros = b"\0" * size
        _compressed[coding, size] = (
            gzip.compress(zeros, 9, mtime=0) if coding == "gzip" else zlib.compress(zeros, 9)
        )
    return _compressed[coding, size]


async def _ok(_: web.Request) -> web.Response:
    return web.Response(body=GOOD_RSS, content_type="application/rss+xml")


async def _slow(request: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte every `gap` ms, `n` times."""
    gap, n = int(request.match_info["gap"]) / 1000, int(request.match_info["n"])
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await resp.prepare(request)
    await resp.write(b"<")
    for _ in range(n):
        await asyncio.sleep(gap)
        await resp.write(b"r")
    return resp


async def _endless(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    chunk = b"<item>" + b"x" * 8192 + b"</item>"
    for _ in range(10_000):  # ~80 MB: far past any cap, but not forever if nobody reads
        await resp.write(chunk)
    return resp


async def _gzip_bomb(request: web.Request) -> web.Response:
    coding, size = request.match_info["coding"], int(request.match_info["size"])
    return web.Response(
        body=_bomb(coding, size),
        headers={"Content-Encoding": coding, "Content-Type": "application/rss+xml"},
    )


async def _cycle(request: web.Request) -> web.Response:
    k, i = int(request.match_info["k"]), int(request.match_info["i"])
    status = int(request.query.get("status", "302"))
    target = f"/cycle/{k}/{(i + 1) % k}?status={status}"
    if request.query.get("absolute"):
        target = f"http://{request.host}{target}&absolute=1"
    return web.Response(status=status, headers={"Location": target})


async def _charref(_: web.Request) -> web.Response:
    body = GOOD_RSS.replace(b"<title>one</title>", b"<title>one &#xD800;</title>")
    return web.Response(body=body, content_type="application/rss+xml")


async def _too_many(request: web.Request) -> web.Response:
    return web.Response(status=429, headers={"Retry-After": request.query.get("after", "120")})


async def _to(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["url"])


def _app() -> web.Application:
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/slow/{gap}/{n}", _slow)
    app.router.add_get("/endless", _endless)
    app.router.add_get("/bomb/{coding}/{size}", _gzip_bomb)
    app.router.add_get("/cycle/{k}/{i}", _cycle)
    app.router.add_get("/429", _too_many)
    app.router.add_get("/charref", _charref)
    app.router.add_get("/to", _to)
    return app


RAW_TASKS: set[asyncio.Task[None]] = set()


async def _raw_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Hand-written answers with a wrong Content-Length: /cl/{declared}/{sent}/{close|hold}.

    Keeps serving requests on the connection, so a client that reuses it after a
    short Content-Length meets the leftover bytes.
    """
    task = asyncio.current_task()
    assert task is not None
    RAW_TASKS.add(task)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            parts = path.strip("/").split("/")
            if parts[0] != "cl":
                body = GOOD_RSS
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n")
                writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
                continue
            declared, sent, then = int(parts[1]), int(parts[2]), parts[3]
            body = (GOOD_RSS * (sent // len(GOOD_RSS) + 1))[:sent]
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Content-Length: %d\r\n\r\n" % declared + body
            )
            await writer.drain()
            if then == "close":
                break
            if then == "hold":
                await asyncio.sleep(10)
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
        RAW_TASKS.discard(task)


@dataclass
class Servers:
    base: str  # aiohttp
    raw: str  # hand-written HTTP


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """Both servers in their own thread and loop, as remote servers would be."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, asyncio.Server, Servers]:
        runner = web.AppRunner(_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        raw = await asyncio.start_server(_raw_http, "127.0.0.1", 0)
        raw_port = raw.sockets[0].getsockname()[1]
        return (
            runner,
            raw,
            Servers(f"http://127.0.0.1:{runner.addresses[0][1]}", f"http://127.0.0.1:{raw_port}"),
        )

    runner, raw, found = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield found

    async def stop() -> None:
        raw.close()
        for task in list(RAW_TASKS):
            task.cancel()
        await asyncio.gather(*RAW_TASKS, return_exceptions=True)
        await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def small_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "allow_private_networks": True,
        "fetch_connect_timeout": 1.0,
        "fetch_read_timeout": READ_TIMEOUT,
        "fetch_total_timeout": 3.0,
        "fetch_max_bytes": CAP,
        "fetch_max_redirects": 3,
        "poll_min_interval_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(**values)


def spy_connections(loop: asyncio.AbstractEventLoop) -> list[Any]:
    """Record every outgoing connection; refuse (never attempt) any to a non-loopback address."""
    attempts: list[Any] = []
    real_connect = loop.sock_connect

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"test refused a connection to {address!r}")
        await real_connect(sock, address)

    loop.sock_connect = sock_connect  # type: ignore[method-assign]
    return attempts


def run_client(
    fn: Callable[[HttpClient], Awaitable[T]], settings_: Settings, *, hang: float = 8.0
) -> tuple[T | BaseException, list[Any], float]:
    """Run fn(client) on a fresh loop: (result or the exception, connections, seconds)."""

    async def main() -> tuple[T | BaseException, list[Any], float]:
        attempts = spy_connections(asyncio.get_running_loop())
        client = HttpClient(settings_)
        started = time.perf_counter()
        try:
            result: T | BaseException = await asyncio.wait_for(fn(client), hang)
        except TimeoutError as exc:
            raise AssertionError(f"no answer in {hang}s: the client hangs") from exc
        except Exception as exc:
            result = exc
        finally:
            await client.close()
        return result, attempts, time.perf_counter() - started

    return asyncio.run(main())


def fetch(url: str, settings_: Settings, *, hang: float = 8.0) -> tuple[Any, list[Any], float]:
    return run_client(lambda c: c.get(url, kind="feed"), settings_, hang=hang)


# For the timeout tests: long enough that a body served in full (a missing timeout)
# arrives before it, so the outcome, not a stopwatch, tells which limit acted.
LONG = 120.0


FAST = settings(database=None, max_examples=6, deadline=None)


@settings(database=None, max_examples=3, deadline=None)
@given(gap_ms=st.integers(700, 1200))
def test_a_body_slower_than_the_read_timeout_times_out(servers: Servers, gap_ms: int) -> None:
    # The whole body takes 5-8 s and the total limit is far beyond it: only the read
    # timeout can make this a timeout (without it the body arrives whole).
    outcome, _, _ = fetch(
        f"{servers.base}/slow/{gap_ms}/7", small_settings(fetch_total_timeout=LONG), hang=LONG
    )
    assert isinstance(outcome, FetchError) and outcome.reason == "timeout", outcome


def test_a_dribbling_body_is_cut_by_the_total_timeout(servers: Servers) -> None:
    # One byte every 0.2 s for 20 s never trips a 30 s read timeout; the 1.5 s total
    # does. Without it the body arrives whole (well before the 120 s guard).
    outcome, _, _ = fetch(
        f"{servers.base}/slow/200/100",
        small_settings(fetch_read_timeout=30.0, fetch_total_timeout=1.5),
        hang=LONG,
    )
    assert isinstance(outcome, FetchError) and outcome.reason == "timeout", outcome


@FAST
@given(cap=st.integers(1_000, CAP))
def test_an_endless_body_is_cut_at_the_cap(servers: Servers, cap: int) -> None:
    outcome, _, _ = fetch(f"{servers.base}/endless", small_settings(fetch_max_bytes=cap))
    assert isinstance(outcome, TooLargeError), outcome


@FAST
@given(
    coding=st.sampled_from(["gzip", "deflate"]),
    size=st.sampled_from([CAP + 1, 2 * CAP, 10_000_000, 50_000_000]),
)
def test_a_compression_bomb_is_too_large(servers: Servers, coding: str, size: int) -> None:
    assert len(_bomb(coding, size)) < CAP  # small on the wire...
    outcome, _, _ = fetch(f"{servers.base}/bomb/{coding}/{size}", small_settings())
    assert isinstance(outcome, TooLargeError), outcome  # ...capped after decompression


def test_a_compressed_body_under_the_cap_is_returned_whole(servers: Servers) -> None:
    outcome, _, _ = fetch(f"{servers.base}/bomb/gzip/{CAP}", small_settings())
    assert not isinstance(outcome, BaseException), outcome
    assert outcome.body == b"\0" * CAP


@settings(database=None, max_examples=6, deadline=None)
@given(declared=st.integers(1, 3 * len(GOOD_RSS)), sent=st.integers(0, 3 * len(GOOD_RSS)))
def test_a_wrong_content_length_is_a_fetch_error_or_the_declared_bytes(
    servers: Servers, declared: int, sent: int
) -> None:
    then = "close" if declared > sent else "keep"
    url = f"{servers.raw}/cl/{declared}/{sent}/{then}"

    async def twice(client: HttpClient) -> list[Any]:
        out: list[Any] = []
        for target in (url, f"{servers.raw}/ok"):  # the second reuses the connection
            try:
                out.append(await client.get(target, kind="feed"))
            except FetchError as exc:
                out.append(exc)
        return out

    outcome, _, _ = run_client(twice, small_settings())
    assert isinstance(outcome, list), outcome  # nothing but FetchError escaped
    first, second = outcome
    if declared > sent:
        assert isinstance(first, FetchError), first  # the connection closed early
    elif declared == sent:
        assert not isinstance(first, FetchError), first
        assert len(first.body) == declared
    else:
        # More bytes than declared: an error, or exactly what was declared (which of the
        # two depends on whether the surplus came in the same read).
        assert isinstance(first, FetchError) or len(first.body) == declared, first
    # Leftover bytes on a reused connection must neither pass for the next answer nor
    # spoil it: the next request gets the next server's answer, whole.
    assert not isinstance(second, FetchError), second
    assert second.body == GOOD_RSS, second


def test_a_body_shorter_than_its_content_length_on_an_open_connection_times_out(
    servers: Servers,
) -> None:
    # The server holds the connection open for 10 s and then closes it: without the read
    # timeout that close ends the request, as a different error.
    outcome, _, _ = fetch(
        f"{servers.raw}/cl/5000/100/hold", small_settings(fetch_total_timeout=LONG), hang=LONG
    )
    assert isinstance(outcome, FetchError) and outcome.reason == "timeout", outcome


@FAST
@given(
    k=st.integers(1, 4),
    status=st.sampled_from([301, 302, 303, 307, 308]),
    absolute=st.booleans(),
)
def test_redirect_loops_end_in_a_redirects_error(
    servers: Servers, k: int, status: int, absolute: bool
) -> None:
    query = f"?status={status}" + ("&absolute=1" if absolute else "")
    outcome, attempts, _ = fetch(f"{servers.base}/cycle/{k}/0{query}", small_settings())
    assert isinstance(outcome, FetchError) and outcome.reason == "redirects", outcome
    assert all(a[0] == "127.0.0.1" for a in attempts)


@FAST
@given(after=st.sampled_from(["0", "120", "86400", "Wed, 21 Oct 2037 07:28:00 GMT", "soon"]))
def test_429_is_an_http_status_error(servers: Servers, after: str) -> None:
    outcome, _, _ = fetch(f"{servers.base}/429?after={quote(after)}", small_settings())
    assert isinstance(outcome, HttpStatusError) and outcome.status == 429, outcome
    assert outcome.reason == "http_status"
    assert outcome.headers.get("retry-after") == after  # kept for the scheduler


# --- the SSRF guard ----------------------------------------------------------------------------

PRIVATE_TARGETS = [
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.1:8080/admin",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://0.0.0.0/",
    "http://127.0.0.2/",
    "http://localhost/",
    "http://0xa9.0xfe.0xa9.0xfe/",  # hex: resolved by getaddrinfo, no DNS query
    "http://0xa.1/",
    "http://012.0.0.1/",  # octal
    "http://167772161/",  # decimal 10.0.0.1
    "http://169.254.169.254./",
]


@settings(database=None, max_examples=len(PRIVATE_TARGETS), deadline=None)
@given(target=st.sampled_from(PRIVATE_TARGETS), port=st.sampled_from(["", ":80", ":8080"]))
def test_private_targets_are_refused_before_any_connection(target: str, port: str) -> None:
    parts = urlsplit(target)
    if port and parts.port is None:
        target = target.replace(parts.netloc, parts.netloc + port, 1)
    outcome, attempts, _ = fetch(target, small_settings(allow_private_networks=False))
    assert attempts == []  # nothing was even tried, let alone sent
    assert isinstance(outcome, FetchError), outcome
    assert outcome.reason in ("blocked_address", "fetch", "bad_url"), outcome


@pytest.mark.parametrize(
    "target",
    [
        "http://[::a9fe:a9fe]/",  # ::169.254.169.254
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 169.254.169.254
        "http://[64:ff9b::a00:1]/",  # NAT64 10.0.0.1
        "http://[2002:a00:1::1]/",  # 6to4 10.0.0.1
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(target: str) -> None:
    outcome, attempts, _ = fetch(target, small_settings(allow_private_networks=False))
    assert attempts == []  # the spy refused these, nothing left the machine either way
    assert isinstance(outcome, FetchError) and outcome.reason == "blocked_address", outcome


@pytest.fixture
def loopback_is_public() -> Iterator[None]:
    """Pretend 127.0.0.1 is a public server, so that a client that refuses private
    networks can reach the test server and be redirected from it."""
    real = guard.is_blocked

    def is_blocked(address: str, *, allow_private: bool) -> bool:
        return False if address == "127.0.0.1" else real(address, allow_private=allow_private)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(guard, "is_blocked", is_blocked)
        yield


@settings(
    database=None,
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(target=st.sampled_from([t for t in PRIVATE_TARGETS if "localhost" not in t]))
def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    servers: Servers, loopback_is_public: None, target: str
) -> None:
    url = f"{servers.base}/to?url={quote(target, safe='')}"
    outcome, attempts, _ = fetch(url, small_settings(allow_private_networks=False))
    assert isinstance(outcome, FetchError), outcome
    assert outcome.reason in ("blocked_address", "fetch", "bad_url"), outcome
    port = int(servers.base.rsplit(":", 1)[1])
    assert attempts and all(a == ("127.0.0.1", port) for a in attempts), attempts


@settings(database=None, max_examples=8, deadline=None)
@given(
    target=st.sampled_from(
        [
            "file:///etc/passwd",
            "gopher://127.0.0.1:25/",
            "ftp://127.0.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "javascript:alert(1)",
            "http:///nohost",
        ]
    )
)
def test_redirect_targets_refused_even_when_private_networks_are_allowed(
    servers: Servers, target: str
) -> None:
    outcome, attempts, _ = fetch(
        f"{servers.base}/to?url={quote(target, safe='')}", small_settings()
    )
    assert isinstance(outcome, FetchError), outcome
    port = int(servers.base.rsplit(":", 1)[1])
    assert all(a == ("127.0.0.1", port) for a in attempts), attempts


# --- through poll_feed: every misbehaviour is a counted dead letter, never a crash ---------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/slow/900/10", "timeout"),
        ("/endless", "too_large"),
        ("/bomb/gzip/10000000", "too_large"),
        ("/cycle/2/0", "redirects"),
        ("/429?after=60", "http_status"),
        ("/to?url=http%3A%2F%2F0.0.0.0%2F", "blocked_address"),
    ],
)
def test_poll_feed_dead_letters_each_misbehaviour(servers: Servers, path: str, reason: str) -> None:
    url = servers.base + path
    table: dict[str, str] = {}
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    cfg = small_settings()

    async def poll(client: HttpClient) -> Any:
        return await poll_feed(
            encode(FeedPoll(url=url, partition=0)), table=table, client=client, settings=cfg
        )

    outputs, attempts, _ = run_client(poll, cfg)
    assert isinstance(outputs, list), outputs
    [dead] = outputs
    assert dead.topic == DLQ.name and decode(DeadLetter, dead.value).reason == reason
    state = load_state(table, url)
    assert state is not None and state.error_count == 1
    assert all(a[0] == "127.0.0.1" for a in attempts)


def _poll_once(url: str, table: dict[str, str], cfg: Settings) -> tuple[Any, list[Any]]:
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)

    async def poll(client: HttpClient) -> Any:
        return await poll_feed(
            encode(FeedPoll(url=url, partition=0)), table=table, client=client, settings=cfg
        )

    outputs, attempts, _ = run_client(poll, cfg)
    return outputs, attempts


def test_poll_feed_waits_at_least_retry_after_on_429(servers: Servers) -> None:
    url = f"{servers.base}/429?after=7200"
    table: dict[str, str] = {}
    before = datetime.now(UTC)
    outputs, _ = _poll_once(url, table, small_settings())
    assert isinstance(outputs, list) and [o.topic for o in outputs] == [DLQ.name]
    state = load_state(table, url)
    assert state is not None and state.next_poll_at >= before + timedelta(seconds=7200)


def test_poll_feed_dead_letters_a_feed_with_a_bad_character_reference(servers: Servers) -> None:
    url = f"{servers.base}/charref"
    table: dict[str, str] = {}
    outputs, _ = _poll_once(url, table, small_settings())
    assert isinstance(outputs, list), outputs
    [dead] = outputs
    assert dead.topic == DLQ.name and decode(DeadLetter, dead.value).reason == "feed_parse"
    state = load_state(table, url)
    assert state is not None and state.error_count == 1


def test_poll_feed_emits_the_entry_of_a_good_feed(servers: Servers) -> None:
    """The control: the same harness does see entries when the server behaves."""
    url = f"{servers.base}/ok"
    table: dict[str, str] = {}
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    cfg = small_settings()

    async def poll(client: HttpClient) -> Any:
        return await poll_feed(
            encode(FeedPoll(url=url, partition=0)), table=table, client=client, settings=cfg
        )

    outputs, _, _ = run_client(poll, cfg)
    assert isinstance(outputs, list) and [o.topic for o in outputs] == [ENTRIES.name]


def test_spy_refuses_non_loopback_connections() -> None:
    """The guard rail itself: the spy refuses a non-loopback connection without sending."""

    async def main() -> tuple[list[Any], BaseException | None]:
        loop = asyncio.get_running_loop()
        attempts = spy_connections(loop)
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, ("10.0.0.1", 80))
        except ConnectionRefusedError as exc:
            return attempts, exc
        finally:
            sock.close()
        return attempts, None

    attempts, error = asyncio.run(main())
    assert attempts == [("10.0.0.1", 80)] and isinstance(error, ConnectionRefusedError)
