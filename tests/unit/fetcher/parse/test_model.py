"""The helpers every format shares (parse.model): an entry's article link, ids made unique."""

from __future__ import annotations

from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import article_link
from tests.unit.fetcher.parse.helpers import FEED_URL


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


URL = "http://a/x"


def test_a_plain_string_among_an_items_links_is_skipped() -> None:
    # feedparser leaves strings in `links` for some broken markup: AttributeError before.
    item = {"links": ["http://junk", {"href": "/a", "rel": "alternate"}], "link": ""}
    assert article_link(item, "http://a.example/feed") == "http://a.example/a"
    assert article_link({"links": ["x"], "link": "http://b.example/"}, URL) == "http://b.example/"
