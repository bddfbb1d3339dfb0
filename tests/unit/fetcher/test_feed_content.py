"""Entries carry their feed content, capped, with their feed's pages mode (pipeline)."""

from __future__ import annotations

import json

from services.common.models import Entry, FeedRecord, encode
from services.common.settings import Settings
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.pipeline import cap_utf8, entries_from, load_state, register_feed
from services.fetcher.state.feedstate import FeedState
from tests.conftest import validate_record
from tests.unit.fetcher.parse.helpers import BODY_HTML, RSS

URL = "http://news.example/feed.xml"


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
    assert settings.fetcher.feed_pages == "always"  # today's behaviour
    assert settings.fetcher.feed_content_max_bytes == 262144
    # An old entry without the new fields still decodes, with today's behaviour.
    old = Entry.model_validate({"entry_id": "e", "feed_url": URL, "link": "http://n.example/1"})
    assert old.pages == "always" and old.content is None and not old.content_truncated
