"""JSON Feed 1.0 and 1.1 (parse.jsonfeed): fields, content, and input of any shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.common.errors import FeedParseError
from services.fetcher.parse.dispatch import parse_feed
from tests.unit.fetcher.parse.helpers import parse_or_none

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
    parse_or_none(json.dumps(doc).encode(), "application/feed+json")


def test_deeply_nested_json_raises_nothing_but_feed_parse_error() -> None:
    parse_or_none(b'{"version": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None)


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


URL = "http://news.example/feed.xml"


BODY_HTML = "<p>First paragraph of the story, with <b>markup</b> &amp; an entity.</p><p>Second.</p>"


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
