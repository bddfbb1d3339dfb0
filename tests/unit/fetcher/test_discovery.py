"""Feed discovery against a real HTTP server on 127.0.0.1, and its pure HTML and robots helpers."""

from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

from services.common.errors import FetchError, HttpStatusError
from services.common.settings import Settings
from services.fetcher.discovery import (
    DiscoveredFeed,
    FeedLink,
    discover,
    links_from_html,
    sitemaps_from_robots,
)
from services.fetcher.net.http import HttpClient, Response
from tests.conftest import serve_locally

PAGE = """<!DOCTYPE html>
<html><head>
<title>Example Times</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Main news" href="feeds/main.xml">
<link rel="alternate" type="application/atom+xml" title="Broken" href="/broken.atom">
<link rel="alternate" type="application/json" href="/wp-json/">
<link rel="alternate" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/feed+json" href="/feed.json#top">
</head><body><p>News.</p></body></html>
"""

MAIN_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Main RSS</title>
<item><title>One</title><link>http://news.example/1</link></item></channel></rss>"""
SITE_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Site RSS</title>
<item><title>Two</title><link>http://news.example/2</link></item></channel></rss>"""
JSON_FEED = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "Site JSON",
 "items": [{"id": "3", "url": "http://news.example/3"}]}"""
NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>http://news.example/4</loc><news:news>
    <news:publication><news:name>The Example Times</news:name><news:language>en</news:language>
    </news:publication>
    <news:publication_date>2024-05-06</news:publication_date><news:title>Four</news:title>
  </news:news></url>
</urlset>"""
POSTS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://news.example/5</loc><lastmod>2024-05-06</lastmod></url>
</urlset>"""


@dataclass
class Site:
    base: str
    requests: list[str] = field(default_factory=list)


def _index(base: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/sitemap.xml</loc></sitemap>
  <sitemap><loc>/posts-sitemap.xml.gz</loc></sitemap>
  <sitemap><loc>/gone-sitemap.xml</loc></sitemap>
</sitemapindex>""".encode()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    """A news site: alternate links, a redirecting home page, robots.txt sitemaps, broken bits."""
    state = Site(base="")

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        state.requests.append(request.path)
        return await handler(request)

    def xml(body: bytes) -> web.Response:
        return web.Response(body=body, content_type="application/xml")

    async def home(_: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/site/index.html")

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def main_rss(_: web.Request) -> web.Response:
        return web.Response(body=MAIN_RSS, content_type="application/rss+xml")

    async def site_rss(_: web.Request) -> web.Response:
        return web.Response(body=SITE_RSS, content_type="application/rss+xml")

    async def rss_redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound("/feed.xml")

    async def broken(_: web.Request) -> web.Response:
        raise web.HTTPInternalServerError()

    async def wp_json(_: web.Request) -> web.Response:
        return web.json_response({"name": "Example Times", "routes": {}})

    async def json_feed(_: web.Request) -> web.Response:
        return web.Response(body=JSON_FEED, content_type="application/feed+json")

    async def soft_404(_: web.Request) -> web.Response:
        return web.Response(text="<html><body>Not here</body></html>", content_type="text/html")

    async def robots(_: web.Request) -> web.Response:
        lines = ["User-agent: *", "Disallow:", "", f"Sitemap: {state.base}/sitemap.xml"]
        return web.Response(text="\n".join([*lines, "sitemap: /sitemap_index.xml", ""]))

    async def news_sitemap(_: web.Request) -> web.Response:
        return xml(NEWS_SITEMAP)

    async def index(_: web.Request) -> web.Response:
        return xml(_index(state.base))

    async def big_index(_: web.Request) -> web.Response:
        archives = [f"<sitemap><loc>/archive-{n}.xml</loc></sitemap>" for n in range(1, 7)]
        children = [*archives, "<sitemap><loc>/sitemap-news-today.xml</loc></sitemap>"]
        return xml(f"<sitemapindex>{''.join(children)}</sitemapindex>".encode())

    async def posts(_: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(POSTS_SITEMAP), content_type="application/x-gzip")

    app = web.Application(middlewares=[record])
    for path, handler in {
        "/home": home,
        "/site/index.html": page,
        "/site/feeds/main.xml": main_rss,
        "/feed.xml": site_rss,
        "/rss": rss_redirect,
        "/broken.atom": broken,
        "/wp-json/": wp_json,
        "/feed.json": json_feed,
        "/atom.xml": soft_404,
        "/robots.txt": robots,
        "/sitemap.xml": news_sitemap,
        "/sitemap_index.xml": index,
        "/big_index.xml": big_index,
        "/sitemap-news-today.xml": news_sitemap,
        "/posts-sitemap.xml.gz": posts,
    }.items():
        app.router.add_get(path, handler)
    runner, state.base = await serve_locally(app)
    yield state
    await runner.cleanup()


class CountingClient(HttpClient):
    """The real client, remembering every URL it was asked for."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.asked: list[str] = []

    async def get(self, url: str, **kwargs: Any) -> Response:
        self.asked.append(url)
        return await super().get(url, **kwargs)


@pytest.fixture
async def client() -> AsyncIterator[CountingClient]:
    http = CountingClient(Settings(allow_private_networks=True, fetch_total_timeout=10))
    yield http
    await http.close()


def _found_after_the_page(base: str) -> list[DiscoveredFeed]:
    """What the site offers besides its page's own links, in discovery order."""
    return [
        DiscoveredFeed(f"{base}/feed.xml", "Site RSS", "rss", "common-path"),
        DiscoveredFeed(
            f"{base}/sitemap.xml",
            "The Example Times",
            "news-sitemap",
            "robots",
            f"{base}/robots.txt",
        ),
        DiscoveredFeed(
            f"{base}/posts-sitemap.xml.gz",
            None,
            "sitemap",
            "sitemap-index",
            f"{base}/sitemap_index.xml",
        ),
    ]


async def test_discovers_links_paths_robots_sitemaps_and_index_children(
    site: Site, client: HttpClient
) -> None:
    base = site.base
    found = await discover(f"{base}/home", client)
    assert found == [
        # Relative to the page's final URL (/site/index.html), not to /home.
        DiscoveredFeed(
            f"{base}/site/feeds/main.xml",
            "Main news",
            "rss",
            "html-link",
            f"{base}/site/index.html",
        ),
        DiscoveredFeed(
            f"{base}/feed.json", "Site JSON", "json", "html-link", f"{base}/site/index.html"
        ),
        *_found_after_the_page(base),
    ]
    # Each candidate is fetched once, though /feed.json and /sitemap.xml are named two
    # and three times (link and path; robots, path and index). /feed.xml is requested
    # twice only because /rss redirects there while it is being checked as a path.
    assert sorted(site.requests) == sorted(
        [
            "/home",
            "/site/index.html",
            "/site/feeds/main.xml",
            "/broken.atom",
            "/wp-json/",
            "/feed.json",
            "/feed",
            "/rss",
            "/feed.xml",  # /rss redirects here
            "/rss.xml",
            "/atom.xml",
            "/feed.xml",  # the common path itself
            "/index.xml",
            "/robots.txt",
            "/sitemap.xml",
            "/sitemap_index.xml",
            "/news-sitemap.xml",
            "/sitemap_news.xml",
            "/posts-sitemap.xml.gz",
            "/gone-sitemap.xml",
        ]
    )


async def test_a_feed_url_is_its_own_answer(site: Site, client: HttpClient) -> None:
    found = await discover(f"{site.base}/feed.xml", client)
    assert found == [DiscoveredFeed(f"{site.base}/feed.xml", "Site RSS", "rss", "self")]
    assert site.requests == ["/feed.xml"]


async def test_a_sitemap_index_url_is_expanded(site: Site, client: HttpClient) -> None:
    base = site.base
    found = await discover(f"{base}/sitemap_index.xml", client)
    assert found == [
        DiscoveredFeed(
            f"{base}/sitemap.xml",
            "The Example Times",
            "news-sitemap",
            "sitemap-index",
            f"{base}/sitemap_index.xml",
        ),
        _found_after_the_page(base)[2],
    ]


async def test_the_request_budget_is_respected(site: Site, client: HttpClient) -> None:
    base = site.base
    found = await discover(f"{base}/home", client, max_requests=3)
    # The page, robots.txt and one candidate (redirect hops are the client's to bound).
    assert found == [
        DiscoveredFeed(
            f"{base}/site/feeds/main.xml",
            "Main news",
            "rss",
            "html-link",
            f"{base}/site/index.html",
        )
    ]
    assert site.requests == ["/home", "/site/index.html", "/robots.txt", "/site/feeds/main.xml"]
    with pytest.raises(ValueError, match="max_requests"):
        await discover(base, client, max_requests=0)


async def test_a_missing_page_still_finds_the_sites_feeds(site: Site, client: HttpClient) -> None:
    base = site.base
    found = await discover(f"{base}/no/such/page", client)
    assert found == [
        DiscoveredFeed(f"{base}/feed.xml", "Site RSS", "rss", "common-path"),
        DiscoveredFeed(f"{base}/feed.json", "Site JSON", "json", "common-path"),
        *_found_after_the_page(base)[1:],
    ]
    # Nothing found: the page's own error is the answer.
    with pytest.raises(HttpStatusError) as raised:
        await discover(f"{base}/no/such/page", client, max_requests=2)
    assert raised.value.status == 404


async def test_a_big_index_is_cut_short_news_first(site: Site, client: HttpClient) -> None:
    base = site.base
    found = await discover(f"{base}/big_index.xml", client)
    assert found == [
        DiscoveredFeed(
            f"{base}/sitemap-news-today.xml",
            "The Example Times",
            "news-sitemap",
            "sitemap-index",
            f"{base}/big_index.xml",
        )
    ]
    # The news sitemap (listed last) and the first four archives: five children at most.
    assert sorted(site.requests) == sorted(
        ["/big_index.xml", "/sitemap-news-today.xml"] + [f"/archive-{n}.xml" for n in range(1, 5)]
    )


async def test_an_unreachable_host_raises_at_once(client: CountingClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Closed now: nothing listens there, so the connection is refused.
    with pytest.raises(FetchError) as raised:
        await discover(f"http://127.0.0.1:{port}/", client)
    assert raised.value.reason == "connect"
    assert client.asked == [f"http://127.0.0.1:{port}/"]  # no paths tried on a dead host


def test_links_from_html_resolves_filters_and_dedupes() -> None:
    html = """<html><head>
    <base href="/news/">
    <LINK REL="Alternate Home" TYPE="Application/RSS+XML; charset=utf-8" HREF="rss.xml"
          TITLE=" News ">
    <link rel="alternate" type="application/atom+xml" href="https://other.example/atom">
    <link rel="alternate" type="application/rss+xml" href="rss.xml#again">
    <link rel="alternate stylesheet" type="text/css" href="dark.css">
    <link rel="alternate" type="text/html" hreflang="de" href="/de/">
    <link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
    <link rel="alternate" type="application/rss+xml" href="">
    <link rel="feed" type="application/rss+xml" href="/not-alternate.xml">
    <link rel="alternate" type="application/feed+json" href="feed.json" title="">
    <script>var s = '<link rel="alternate" type="application/rss+xml" href="/in-script">';</script>
    </head><body>
    <link rel="alternate" type="application/json" href="//cdn.example/f.json">
    </body></html>"""
    assert links_from_html(html, "https://site.example/section/page.html?id=1") == [
        FeedLink("https://site.example/news/rss.xml", "News", "rss"),
        FeedLink("https://other.example/atom", None, "atom"),
        FeedLink("https://site.example/news/feed.json", None, "json"),
        FeedLink("https://cdn.example/f.json", None, "json"),
    ]
    without_base = '<link rel="alternate" type="application/rss+xml" href="../f.xml">'
    assert links_from_html(without_base, "https://site.example/a/b/c.html") == [
        FeedLink("https://site.example/a/f.xml", None, "rss")
    ]
    assert links_from_html("not html at all", "https://site.example/") == []


def test_sitemaps_from_robots() -> None:
    text = """# Sitemap: https://site.example/commented.xml
User-agent: *
Disallow: /private
SITEMAP:https://site.example/a.xml
  Sitemap: /b.xml.gz
Sitemap: https://site.example/a.xml
Sitemap: ftp://site.example/c.xml
Sitemap: https://site.example/%7Euser/s.xml
"""
    assert sitemaps_from_robots(text, "https://site.example/robots.txt") == [
        "https://site.example/a.xml",
        "https://site.example/b.xml.gz",
        "https://site.example/%7Euser/s.xml",
    ]
