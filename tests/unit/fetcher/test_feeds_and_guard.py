from __future__ import annotations

import pytest

from services.common.charset import decode_body
from services.common.errors import BlockedAddressError, FeedParseError
from services.fetcher.net.guard import check_host_literal, is_blocked
from services.fetcher.parse.dispatch import parse_feed
from tests.conftest import SEEDS

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


def test_two_items_sharing_a_guid_stay_apart() -> None:
    doc = b"""<rss version="2.0"><channel><title>t</title>
      <item><guid>same</guid><link>http://a.example/1</link><title>One</title></item>
      <item><guid>same</guid><link>http://a.example/2</link><title>Two</title></item>
    </channel></rss>"""
    entries = parse_feed(doc, url="http://a.example/f").entries
    assert len(entries) == 2
    assert len({e.entry_id for e in entries}) == 2
    # Deterministic: the same document gives the same ids on the next poll.
    assert [e.entry_id for e in parse_feed(doc, url="x").entries] == [e.entry_id for e in entries]


def test_not_a_feed_raises() -> None:
    with pytest.raises(FeedParseError):
        parse_feed(b"\x00\x01 definitely not xml", url="http://a.example/f")


def test_slightly_broken_feed_still_yields_entries() -> None:
    doc = b"""<rss version="2.0"><channel><title>t &nbsp; broken</title>
      <item><link>http://a.example/1</link><title>One & two</title></item></channel></rss>"""
    assert [e.link for e in parse_feed(doc, url="x").entries] == ["http://a.example/1"]


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("172.16.5.4", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("fd00::1", True),
        ("0.0.0.0", True),
        ("::ffff:127.0.0.1", True),
        ("224.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_guard_refuses_non_public_addresses(address: str, blocked: bool) -> None:
    assert is_blocked(address, allow_private=False) is blocked


def test_guard_allows_loopback_only_when_configured() -> None:
    assert is_blocked("127.0.0.1", allow_private=True) is False
    assert is_blocked("0.0.0.0", allow_private=True) is True
    with pytest.raises(BlockedAddressError):
        check_host_literal("127.0.0.1", allow_private=False)
    check_host_literal("news.example", allow_private=False)  # names are checked when resolved


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ("café".encode("latin-1"), "iso-8859-1", "café"),
        (b"\xef\xbb\xbfcaf\xc3\xa9", "iso-8859-1", "café"),  # BOM beats the header
        ('<meta charset="windows-1252"><p>caf\xe9</p>'.encode("latin-1"), None, "café"),
        (b"caf\xc3\xa9", None, "café"),
    ],
)
def test_charset(body: bytes, header: str | None, expected: str) -> None:
    assert expected in decode_body(body, header)[0]


def test_json_feed_1_1_and_1_0() -> None:
    doc = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "J",
      "items": [
        {"id": "1", "url": "https://j.example/1", "title": "One", "content_text": "Body one",
         "date_published": "2024-01-02T03:04:05Z", "authors": [{"name": "Ann"}]},
        {"id": "1", "url": "https://j.example/2", "title": "Two"},
        {"id": 7, "external_url": "https://other.example/7"},
        {"id": "x", "url": "ftp://j.example/nope"}
      ]}"""
    feed = parse_feed(doc, url="https://j.example/feed.json", content_type="application/feed+json")
    assert feed.title == "J"
    assert [e.link for e in feed.entries] == [
        "https://j.example/1",
        "https://j.example/2",
        "https://other.example/7",
    ]
    assert len({e.entry_id for e in feed.entries}) == 3
    first = feed.entries[0]
    assert first.authors == ["Ann"] and first.summary == "Body one"
    assert first.published is not None and first.published.hour == 3
    v10 = (
        b'{"version": "https://jsonfeed.org/version/1", "items": [{"id": "a", '
        b'"url": "https://j.example/a", "author": {"name": "Bo"}}]}'
    )
    assert parse_feed(v10, url="x").entries[0].authors == ["Bo"]


def test_json_that_is_not_a_feed_raises() -> None:
    with pytest.raises(FeedParseError):
        parse_feed(b'{"hello": "world"}', url="x", content_type="application/json")
    with pytest.raises(FeedParseError):
        parse_feed(b"{not json", url="x", content_type="application/feed+json")
