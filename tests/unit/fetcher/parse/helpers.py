"""What the parse tests share: a feed URL, and parse_feed where the only acceptable
failure is FeedParseError."""

from __future__ import annotations

from services.common.errors import FeedParseError
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import ParsedFeed

FEED_URL = "http://feeds.example/news/feed.xml"


def parse_or_none(body: bytes, content_type: str | None) -> ParsedFeed | None:
    """parse_feed, where the only acceptable failure is FeedParseError."""
    try:
        return parse_feed(body, url=FEED_URL, content_type=content_type)
    except FeedParseError:
        return None
