"""Feed entries keep their full content (both parsers), capped, with their feed's pages mode."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from services.common.errors import ConfigError
from services.common.models import Entry, FeedRecord, encode
from services.common.settings import Settings
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.fastfeed import parse_fast
from services.fetcher.parse.model import text_as_html
from services.fetcher.parse.rss import best_content, parse_with_feedparser
from services.fetcher.pipeline import cap_utf8, entries_from, load_state, register_feed
from services.fetcher.state.feedstate import FeedState
from services.fetcher.state.registry import load_feeds_file
from tests.conftest import validate_record

URL = "http://news.example/feed.xml"
BODY_HTML = "<p>First paragraph of the story, with <b>markup</b> &amp; an entity.</p><p>Second.</p>"

RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>News</title>
<item><title>One</title><link>http://news.example/1</link><guid>1</guid>
<description>A teaser.</description>
<content:encoded><![CDATA[{BODY_HTML}]]></content:encoded></item>
<item><title>Two</title><link>http://news.example/2</link><guid>2</guid>
<description>Only a summary.</description></item>
</channel></rss>"""

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


def _by_link(feed: object) -> dict[str, object]:
    return {e.link: e for e in feed.entries}  # type: ignore[attr-defined]


def test_rss_content_encoded_on_the_fast_path_and_in_feedparser() -> None:
    fast = parse_fast(RSS.encode(), url=URL)
    assert fast is not None, "plain RSS 2.0 with content:encoded stays on the fast path"
    slow = parse_with_feedparser(RSS.encode(), url=URL)
    for feed in (fast, slow):
        one, two = feed.entries
        assert one.content is not None and "<b>markup</b>" in one.content
        assert "First paragraph of the story" in one.content
        assert two.content is None and two.summary == "Only a summary."


def test_atom_html_and_text_content_in_both_parsers() -> None:
    fast = parse_fast(ATOM.encode(), url=URL)
    assert fast is not None
    slow = parse_with_feedparser(ATOM.encode(), url=URL)
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
    assert parse_fast(body.encode(), url=URL) is None
    feed = parse_feed(body.encode(), url=URL)
    assert feed.entries[0].content is not None
    assert "Second." in feed.entries[0].content


def test_json_feed_content_html_then_content_text() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {"id": "1", "url": "http://news.example/1", "content_html": BODY_HTML},
            {"id": "2", "url": "http://news.example/2", "content_text": "Just text & more."},
            {"id": "3", "url": "http://news.example/3", "summary": "Teaser only."},
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), url=URL, content_type="application/feed+json")
    one, two, three = feed.entries
    assert one.content == BODY_HTML
    assert two.content == "<p>Just text &amp; more.</p>"
    assert three.content is None and three.summary == "Teaser only."


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


def test_cap_utf8_cuts_on_a_character_boundary() -> None:
    assert cap_utf8(None, 10) == (None, False)
    assert cap_utf8("short", 10) == ("short", False)
    text = "é" * 10  # 20 bytes
    cut, truncated = cap_utf8(text, 7)
    assert truncated and cut == "ééé"  # 6 bytes: the 4th character would be split
    assert len(cut.encode()) <= 7
    exact, truncated = cap_utf8("€€", 6)
    assert (exact, truncated) == ("€€", False)


def test_entries_carry_capped_content_and_the_feed_pages_mode() -> None:
    big = "<p>" + "Ä" * 2000 + "</p>"
    body = RSS.replace(BODY_HTML, big)
    parsed = parse_feed(body.encode(), url=URL)
    state = FeedState(url=URL, partition=0)
    entries = entries_from(parsed, state, URL, pages="auto", content_max_bytes=1024)
    one, two = entries
    assert one.content is not None and one.content_truncated
    assert len(one.content.encode()) <= 1024 and one.content.startswith("<p>ÄÄ")
    assert two.content is None and not two.content_truncated
    # The feed sets no mode: the global default is given to its entries.
    assert {e.pages for e in entries} == {"auto"}
    for entry in entries:
        validate_record("newswire.entries", json.loads(encode(entry)))


def test_a_feed_s_own_pages_mode_wins_over_the_default() -> None:
    table: dict[str, str] = {}
    record = FeedRecord(url=URL, pages="never")
    register_feed(encode(record), key=URL.encode(), partition=0, table=table)
    state = load_state(table, URL)
    assert state is not None and state.pages == "never"
    entries = entries_from(parse_feed(RSS.encode(), url=URL), state, URL, pages="always")
    assert {e.pages for e in entries} == {"never"}
    # Registered again without a mode: back to the default.
    register_feed(encode(FeedRecord(url=URL)), key=URL.encode(), partition=0, table=table)
    state = load_state(table, URL)
    assert state is not None and state.pages is None
    entries = entries_from(parse_feed(RSS.encode(), url=URL), state, URL, pages="always")
    assert {e.pages for e in entries} == {"always"}


def test_settings_defaults() -> None:
    settings = Settings()
    assert settings.feed_pages == "always"  # today's behaviour
    assert settings.feed_content_max_bytes == 262144
    # An old entry without the new fields still decodes, with today's behaviour.
    old = Entry.model_validate({"entry_id": "e", "feed_url": URL, "link": "http://n.example/1"})
    assert old.pages == "always" and old.content is None and not old.content_truncated


def test_feeds_file_sets_pages_per_feed(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - url: http://a.example/f\n    pages: never\n"
        "  - url: http://b.example/f\n  - http://c.example/f\n"
    )
    records = load_feeds_file(path, "http://seeds")
    assert [r.pages for r in records] == ["never", None, None]
    path.write_text("feeds:\n  - url: http://a.example/f\n    pages: sometimes\n")
    with pytest.raises(ConfigError, match="pages"):
        load_feeds_file(path, "http://seeds")
