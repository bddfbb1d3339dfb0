"""Differential: the lxml fast path (parse.fastfeed) against feedparser, wherever the fast
path answers: fields, content, and the shortcuts it takes (URI fixing, the HTML test)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import pytest
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urifixer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.fetcher.parse import fastfeed
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.fastfeed import parse_fast
from services.fetcher.parse.model import ParsedFeed
from services.fetcher.parse.rss import parse_with_feedparser
from tests.conftest import SEEDS
from tests.unit.fetcher.parse.helpers import BODY_HTML, RSS

CONTENT_URL = "http://news.example/feed.xml"


ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title>
<entry><title>One</title><id>urn:1</id><link href="http://news.example/1"/>
<updated>2024-03-05T10:00:00Z</updated>
<summary>A teaser.</summary><content type="html">{escape(BODY_HTML)}</content></entry>
<entry><title>Two</title><id>urn:2</id><link href="http://news.example/2"/>
<updated>2024-03-05T10:00:00Z</updated>
<content type="text">Plain text with a &lt;less-than sign.

Second block.</content></entry>
</feed>"""


def test_rss_content_encoded_on_the_fast_path_and_in_feedparser() -> None:
    fast = parse_fast(RSS.encode(), url=CONTENT_URL)
    assert fast is not None, "plain RSS 2.0 with content:encoded stays on the fast path"
    slow = parse_with_feedparser(RSS.encode(), url=CONTENT_URL)
    for feed in (fast, slow):
        one, two = feed.entries
        assert one.content is not None and "<b>markup</b>" in one.content
        assert "First paragraph of the story" in one.content
        assert two.content is None and two.summary == "Only a summary."


def test_atom_html_and_text_content_in_both_parsers() -> None:
    fast = parse_fast(ATOM.encode(), url=CONTENT_URL)
    assert fast is not None
    slow = parse_with_feedparser(ATOM.encode(), url=CONTENT_URL)
    for feed in (fast, slow):
        one, two = feed.entries
        assert one.content is not None and "<b>markup</b>" in one.content
        # Text content is escaped into paragraphs: a "<" in prose opens no tag.
        assert two.content == "<p>Plain text with a &lt;less-than sign.</p><p>Second block.</p>"


def test_feedparser_path_keeps_content_where_the_fast_path_refuses() -> None:
    # A DOCTYPE sends the feed to feedparser.
    body = RSS.replace(
        '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0"?>\n<!DOCTYPE rss>'
    )
    assert parse_fast(body.encode(), url=CONTENT_URL) is None
    feed = parse_feed(body.encode(), url=CONTENT_URL)
    assert feed.entries[0].content is not None
    assert "Second." in feed.entries[0].content


URL = "http://news.example/feeds/x.xml"


def _fields(feed: ParsedFeed) -> tuple[Any, ...]:
    return (
        feed.title,
        feed.ttl_seconds,
        [
            (e.entry_id, e.link, e.guid, e.title, e.authors, e.published, e.updated)
            for e in feed.entries
        ],
    )


def _reference(body: bytes, content_type: str | None = None) -> ParsedFeed:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # feedparser's updated -> published fallback warning
        return parse_with_feedparser(body, url=URL, content_type=content_type)


def _check(body: bytes, content_type: str | None = None) -> ParsedFeed | None:
    fast = parse_fast(body, url=URL, content_type=content_type)
    if fast is not None:
        assert _fields(fast) == _fields(_reference(body, content_type))
        for entry in fast.entries:
            assert entry.summary is None or not {"<", ">"} & set(entry.summary)
    return fast


_words = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"
    ),
    max_size=20,
)


_specials = st.sampled_from(
    ["AT&T", "Q&A", "a <b>bold</b> move", "&amp;", "x &lt; y", "café", "Ã©", "  spaced  ", ""]
)


_title_text = st.one_of(_words, _specials, st.tuples(_words, _specials).map("".join))


_stamp = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


_offsets = st.sampled_from([0, 60, -300, 330, -570, 840])


def _encoded_text(draw: st.DrawFn, value: str) -> str:
    how = draw(st.sampled_from(["escape", "cdata", "charref"]))
    if how == "cdata" and "]]>" not in value:
        return f"<![CDATA[{value}]]>"
    if how == "charref":
        return "".join(f"&#{ord(c)};" if ord(c) > 127 or c in "<&" else c for c in value)
    return escape(value)


@st.composite
def _rfc822(draw: st.DrawFn) -> str:
    when = draw(_stamp).astimezone(UTC)
    offset = draw(_offsets)
    local = when.astimezone(__import__("datetime").timezone(timedelta(minutes=offset)))
    text = format_datetime(local)
    form = draw(st.sampled_from(["plain", "gmt", "noday", "noseconds", "zone"]))
    if form == "gmt" and offset == 0:
        text = format_datetime(when, usegmt=True)
    elif form == "noday":
        text = text.split(", ", 1)[1]
    elif form == "noseconds":
        head, sec_zone = text.rsplit(":", 1)
        text = f"{head} {sec_zone.split(' ', 1)[1]}"
    elif form == "zone":
        text = text.rsplit(" ", 1)[0] + " " + draw(st.sampled_from(["EST", "PDT", "UT", "Z"]))
    return text


@st.composite
def _rfc3339(draw: st.DrawFn) -> str:
    when = draw(_stamp)
    offset = draw(_offsets)
    local = when.astimezone(__import__("datetime").timezone(timedelta(minutes=offset)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if draw(st.booleans()):
        text += "." + str(draw(st.integers(0, 999999)))
    if offset == 0 and draw(st.booleans()):
        return text + "Z"
    sign = "-" if offset < 0 else "+"
    return text + f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


_dates = st.one_of(
    _rfc822(), _rfc3339(), st.sampled_from(["yesterday", "", "2023-02-30T00:00:00Z"])
)


_links = st.sampled_from(
    [
        "https://site.example/a.html",
        "http://site.example/a?x=1&y=2",
        "/relative/story.html",
        "story.html",
        "../up.html",
        "urn:uuid:1234",
        "http:///triple.example/x",
        "mailto:x@example.com",
        "https://site.example/a?b=1&amp;c=2",
        "",
    ]
)


_guids = st.one_of(st.none(), _links, st.sampled_from(["tag-1", "tag-1", "abc 123", ""]))


_authors = st.sampled_from(["Jo Smith", "jo@example.com (Jo Smith)", "  Ann  ", "", "Zoë"])


@st.composite
def rss_documents(draw: st.DrawFn) -> bytes:
    items = []
    for _ in range(draw(st.integers(0, 4))):
        parts = []
        if draw(st.booleans()):
            parts.append(f"<title>{_encoded_text(draw, draw(_title_text))}</title>")
        link = draw(st.one_of(st.none(), _links))
        if link is not None:
            parts.append(f"<link>{escape(link)}</link>")
        guid = draw(_guids)
        if guid is not None:
            perma = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']))
            parts.append(f"<guid{perma}>{escape(guid)}</guid>")
        if draw(st.booleans()):
            parts.append(f"<pubDate>{escape(draw(_dates))}</pubDate>")
        if draw(st.booleans()):
            parts.append(f"<dc:date>{escape(draw(_dates))}</dc:date>")
        for author in draw(st.lists(_authors, max_size=2)):
            tag = draw(st.sampled_from(["author", "dc:creator"]))
            parts.append(f"<{tag}>{escape(author)}</{tag}>")
        if draw(st.booleans()):
            parts.append(f"<description>{escape(draw(_title_text))}</description>")
        items.append("<item>" + "".join(draw(st.permutations(parts))) + "</item>")
    head = [f"<title>{_encoded_text(draw, draw(_title_text))}</title>", "<link>/</link>"]
    ttl = draw(st.sampled_from([None, "60", "abc", " 15 "]))
    if ttl is not None:
        head.append(f"<ttl>{ttl}</ttl>")
    if draw(st.booleans()):
        head.append("<image><title>Logo</title><url>/l.png</url><link>/</link></image>")
    if draw(st.booleans()):
        head.append('<atom:link href="http://news.example/x.xml" rel="self"/>')
    channel = "".join(draw(st.permutations(head))) + "".join(items)
    version = draw(st.sampled_from(["2.0", "0.92", "0.91"]))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="{version}" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f' xmlns:atom="http://www.w3.org/2005/Atom"><channel>{channel}</channel></rss>'
    ).encode()


@st.composite
def atom_documents(draw: st.DrawFn) -> bytes:
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        parts = []
        if draw(st.booleans()):
            kind = draw(st.sampled_from(["", ' type="text"', ' type="html"']))
            title = _encoded_text(draw, draw(_title_text))
            parts.append(f"<title{kind}>{title}</title>")
        guid = draw(_guids)
        if guid is not None:
            parts.append(f"<id>{escape(guid)}</id>")
        for _ in range(draw(st.integers(0, 2))):
            rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="Alternate"']))
            kind = draw(st.sampled_from(["", ' type="text/html"', ' type="text/plain"']))
            parts.append(f"<link{rel}{kind} href={quoteattr(draw(_links))}/>")
        for tag in ("updated", "published"):
            if draw(st.booleans()):
                parts.append(f"<{tag}>{escape(draw(_dates))}</{tag}>")
        for name in draw(st.lists(_authors, max_size=2)):
            parts.append(f"<author><name>{escape(name)}</name></author>")
        if draw(st.booleans()):
            parts.append(f'<summary type="html">{escape(draw(_title_text))}</summary>')
        entries.append("<entry>" + "".join(draw(st.permutations(parts))) + "</entry>")
    head = [
        f"<title>{_encoded_text(draw, draw(_title_text))}</title>",
        "<id>urn:feed</id>",
        '<link rel="self" href="http://news.example/x.xml"/>',
        "<author><name>Feed Author</name></author>",
    ]
    body = "".join(draw(st.permutations(head))) + "".join(entries)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom">{body}</feed>'
    ).encode()


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(rss_documents(), st.sampled_from([None, "application/rss+xml; charset=utf-8", "text/xml"]))
def test_rss_fast_path_matches_feedparser(body: bytes, content_type: str | None) -> None:
    _check(body, content_type)


@_SETTINGS
@given(atom_documents())
def test_atom_fast_path_matches_feedparser(body: bytes) -> None:
    _check(body)


def test_fast_path_is_taken_for_plain_documents() -> None:
    rss = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>A &amp; B</title><link>/a.html</link><guid>g1</guid>"
        b"<pubDate>Wed, 20 Dec 2023 18:04:00 +0100</pubDate></item></channel></rss>"
    )
    feed = _check(rss)
    assert feed is not None
    [entry] = feed.entries
    assert entry.link == "http://news.example/a.html"
    assert entry.title == "A & B"
    assert entry.published == datetime(2023, 12, 20, 17, 4, tzinfo=UTC)


@pytest.mark.parametrize("name", ["newsofwar.xml", "wire.xml"])
def test_seed_feeds_take_the_fast_path_and_match(name: str) -> None:
    body = (SEEDS / "feeds" / name).read_bytes().replace(b"${SEEDS_URL}", b"http://news.example")
    fast = _check(body)
    assert fast is not None and fast.entries
    assert _fields(parse_feed(body, url=URL)) == _fields(fast)


_RSS = '<rss version="2.0"><channel><item><link>http://a.example/</link></item></channel></rss>'


@pytest.mark.parametrize(
    "body",
    [
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]>{_RSS}',
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://x.example/rss.dtd">{_RSS}',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>t</title></channel>'
        '<item rdf:about="http://a.example/"><link>http://a.example/</link></item></rdf:RDF>',
        '<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry>'
        '<link rel="alternate" href="http://a.example/"/></entry></feed>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://b.example/"><entry>'
        '<link href="a.html"/></entry></feed>',
        _RSS.replace("</channel>", ""),  # broken XML
        _RSS.replace("<item>", "<item><title>&nbsp;</title>"),  # undefined entity
        '<?xml version="1.0" encoding="iso-8859-1"?>' + _RSS,
        _RSS.replace("<item>", "<item><pubDate>20/12/2023</pubDate>"),
        _RSS.replace("<item>", "<item><media:title xmlns:media='http://search.yahoo.com/mrss/'/>"),
        '<CHANNEL HREF="http://a.example/"><ITEM HREF="http://a.example/x"/></CHANNEL>',  # CDF
    ],
)
def test_refuses_what_it_cannot_vouch_for(body: str) -> None:
    assert parse_fast(body.encode(), url=URL) is None


def test_refuses_non_ascii_text_xml_without_charset() -> None:
    body = _RSS.replace("<item>", "<item><title>café</title>").encode()
    assert parse_fast(body, url=URL) is not None
    assert parse_fast(body, url=URL, content_type="text/xml") is None


def test_summary_is_plain_text() -> None:
    body = _RSS.replace(
        "<item>", "<item><description>&lt;p&gt;Hi &amp;amp;  &lt;b&gt;there&lt;/b&gt;</description>"
    ).encode()
    feed = parse_fast(body, url=URL)
    assert feed is not None
    assert feed.entries[0].summary == "Hi & there"


URL_TEXT = st.text(alphabet="ab:/&<>;#1 .+-Zé%", max_size=16)


@settings(max_examples=500, deadline=None, database=None)
@given(prefix=st.sampled_from(["", "http://", "https:///", "a+b-c.d:////", "1x://"]), rest=URL_TEXT)
def test_uri_fix_matches_feedparser(prefix: str, rest: str) -> None:
    text = prefix + rest
    expected = str(_urifixer.sub(r"\1\3", text)) if "://" in text else text
    assert fastfeed._uri(text) == expected


@settings(max_examples=500, deadline=None, database=None)
@given(text=st.text(alphabet="ab</>&#;1 pé", max_size=20))
def test_html_test_matches_feedparser(text: str) -> None:
    assert fastfeed._looks_like_html(text) == bool(_FeedParserMixin.looks_like_html(text))


def test_xml_base_is_still_refused() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        '<title>t</title><item xml:base="http://other.example/"><title>a</title>'
        f"<link>/{quote('a b')}</link></item></channel></rss>"
    ).encode()
    assert fastfeed.parse_fast(body, url="http://news.example/f.xml") is None
