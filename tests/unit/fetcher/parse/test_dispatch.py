"""parse_feed over every format: the seed feeds, generated RSS, Atom and JSON Feed
documents (property-based), arbitrary bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.common.errors import FeedParseError
from services.fetcher.parse.dispatch import parse_feed
from tests.conftest import SEEDS
from tests.unit.fetcher.parse.helpers import FEED_URL, parse_or_none

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
    parsed = parse_or_none(body, content_type)
    if parsed is None:
        assert not _must_parse(body, content_type, kind, mode), body[:300]
        return
    for entry in parsed.entries:
        assert _is_http_link(entry.link), entry.link
    again = parse_or_none(body, content_type)
    assert again is not None
    assert [(e.entry_id, e.link) for e in again.entries] == [
        (e.entry_id, e.link) for e in parsed.entries
    ]


THREE_SHARING_A_LINK: tuple[bytes, str | None, list[Item], str, str] = (
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
    parsed = parse_or_none(doc[0], doc[1])
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
    parse_or_none(body, None)
    parse_or_none(body, "application/rss+xml")


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
    parse_or_none(doc.encode(), "application/rss+xml")


BASE = b"http://news.example"


def _seed_feed(name: str) -> bytes:
    return (SEEDS / "feeds" / name).read_bytes().replace(b"${SEEDS_URL}", BASE)


def test_rss_seed_feed() -> None:
    feed = parse_feed(_seed_feed("newsofwar.xml"), url="http://news.example/feeds/newsofwar.xml")
    assert feed.title == "News of War"
    assert feed.ttl_seconds == 3600
    [entry] = feed.entries
    assert entry.entry_id == "newsofwar-post-6583290b"
    assert entry.link.startswith("http://news.example/site/newsofwar/post/")
    assert entry.authors == ["News of War Staff Writer"]
    assert entry.published is not None and entry.published.year == 2023


def test_atom_seed_feed_takes_the_plain_text_alternate_link() -> None:
    [entry] = parse_feed(_seed_feed("wire.xml"), url="http://news.example/feeds/wire.xml").entries
    assert entry.link == "http://news.example/000_1f0e606ef3d1bead.txt"
    assert entry.guid == "urn:newswire:seeds:plain-wire:1f0e606ef3d1bead"


def test_not_a_feed_raises() -> None:
    with pytest.raises(FeedParseError):
        parse_feed(b"\x00\x01 definitely not xml", url="http://a.example/f")
