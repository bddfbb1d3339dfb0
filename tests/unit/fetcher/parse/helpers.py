"""What the feed tests share: a feed URL, an RSS feed with and without full content, and
parse_feed where the only acceptable failure is FeedParseError."""

from __future__ import annotations

from services.common.errors import FeedParseError
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import ParsedFeed

FEED_URL = "http://feeds.example/news/feed.xml"

# One item with content:encoded (BODY_HTML), one with only a summary.
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


def parse_or_none(body: bytes, content_type: str | None) -> ParsedFeed | None:
    """parse_feed, where the only acceptable failure is FeedParseError."""
    try:
        return parse_feed(body, url=FEED_URL, content_type=content_type)
    except FeedParseError:
        return None
