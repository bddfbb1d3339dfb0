"""The feedparser path (parse.rss): what is no feed or is cut short, byte order marks,
broken feeds that still yield entries, content lists, entity declarations."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import feedparser.mixin
import pytest

from services.common.errors import FeedParseError
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import text_as_html
from services.fetcher.parse.rss import best_content
from tests.unit.fetcher.parse.helpers import parse_or_none


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
    parsed = parse_or_none(doc, "application/rss+xml")
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


def test_slightly_broken_feed_still_yields_entries() -> None:
    doc = b"""<rss version="2.0"><channel><title>t &nbsp; broken</title>
      <item><link>http://a.example/1</link><title>One & two</title></item></channel></rss>"""
    assert [e.link for e in parse_feed(doc, url="x").entries] == ["http://a.example/1"]


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


def test_best_content_prefers_the_longest_html() -> None:
    parts = [
        {"type": "text/plain", "value": "plain first"},
        {"type": "text/html", "value": "<p>short</p>"},
        {"type": "text/html", "value": "<p>the longer html one</p>"},
    ]
    assert best_content(parts) == "<p>the longer html one</p>"
    assert best_content([{"type": "text/plain", "value": "a < b"}]) == "<p>a &lt; b</p>"
    assert best_content([{"type": "text/html", "value": "  "}]) is None
    assert best_content("not a list") is None
    assert text_as_html("   ") is None
