"""Find a site's feeds: the URL itself, <link rel=alternate>, common paths, robots.txt sitemaps.

Every candidate is fetched and kept only if it parses as a feed, so what is
returned can be polled as is. A sitemap index is expanded one level (the
protocol forbids nesting) into the sitemaps it lists, news ones first.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from services.common.charset import decode_body
from services.common.errors import FetchError, HttpStatusError, NewswireError, TooLargeError
from services.fetcher.net.http import HttpClient, Response
from services.fetcher.parse import sitemaps
from services.fetcher.parse.dispatch import parse_feed

log = logging.getLogger(__name__)

FeedType = Literal["rss", "atom", "json", "cdf", "sitemap", "news-sitemap"]
# self: the URL is a feed; html-link: <link rel=alternate>; common-path: a well-known
# path; robots: a robots.txt Sitemap: line; sitemap-index: listed by a sitemap index.
How = Literal["self", "html-link", "common-path", "robots", "sitemap-index"]

LINK_TYPES: dict[str, FeedType] = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
}
COMMON_FEED_PATHS = (
    "/feed",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/feed.xml",
    "/index.xml",
    "/feed.json",
)
COMMON_SITEMAP_PATHS = ("/sitemap.xml", "/news-sitemap.xml", "/sitemap_news.xml")
MAX_REQUESTS = 40
# Matches HttpClient's per-host connection limit: every candidate is on one host.
CONCURRENCY = 4
# Big sites list hundreds of archive sitemaps in their index; a few are enough to show.
MAX_CHILDREN_PER_INDEX = 5

# Root element local names of the XML feed formats parse_feed reads.
_ROOT_TYPES: dict[str, FeedType] = {
    "rss": "rss",
    "RDF": "rss",
    "feed": "atom",
    "channel": "cdf",
    "CHANNEL": "cdf",
}
_SITEMAP_LINE = re.compile(r"^[ \t]*sitemap[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class FeedLink:
    """A feed a page advertises with <link rel="alternate" type=...>, type from the MIME type."""

    url: str
    title: str | None
    type: FeedType


@dataclass(frozen=True)
class DiscoveredFeed:
    """A verified feed: final URL, title, type, how it was found and the document that named it."""

    url: str
    title: str | None
    type: FeedType
    how: How
    via: str | None = None


@dataclass(frozen=True)
class _Candidate:
    url: str
    how: How
    via: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class _Feed:
    url: str
    title: str | None
    type: FeedType


@dataclass(frozen=True)
class _Index:
    url: str
    children: list[str]


class _LinkTags(HTMLParser):
    """Collects the attributes of every <link> and the first <base href>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: dict[str, str] = {}
        for name, value in attrs:
            values.setdefault(name, value or "")  # HTML: the first of repeated attributes wins
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "link":
            self.links.append(values)


def links_from_html(html: str, base_url: str) -> list[FeedLink]:
    """The feeds a page advertises, in page order, each once, resolved against its base URL.

    `base_url` is the page's final URL; a <base href> in the page takes precedence.
    """
    tags = _LinkTags()
    tags.feed(html)
    tags.close()
    base = (_join(base_url, tags.base) if tags.base else None) or base_url
    found: list[FeedLink] = []
    seen: set[str] = set()
    for attrs in tags.links:
        rels = attrs.get("rel", "").lower().split()
        feed_type = LINK_TYPES.get(attrs.get("type", "").split(";")[0].strip().lower())
        href = attrs.get("href", "").strip()
        if "alternate" not in rels or feed_type is None or not href:
            continue
        url = _join(base, href)
        if url is None or url in seen:
            continue
        seen.add(url)
        found.append(FeedLink(url, attrs.get("title", "").strip() or None, feed_type))
    return found


def sitemaps_from_robots(text: str, robots_url: str) -> list[str]:
    """The `Sitemap:` URLs of a robots.txt, in order, each once, resolved against its URL."""
    found: list[str] = []
    for match in _SITEMAP_LINE.finditer(text):
        url = _join(robots_url, match[1])
        if url is not None and url not in found:
            found.append(url)
    return found


async def discover(
    url: str, client: HttpClient, *, max_requests: int = MAX_REQUESTS
) -> list[DiscoveredFeed]:
    """The feeds at or around `url`, each verified by fetching it and parsing it as a feed.

    If `url` is itself a feed, that is the answer. Otherwise: the page's alternate
    links, the common feed paths, robots.txt's sitemaps, the common sitemap paths,
    then the sitemaps of any sitemap index met, in that order, deduplicated by final
    URL. At most `max_requests` GETs in all (the page and robots.txt included);
    candidates that fail are skipped. The page's own FetchError is raised when the
    host did not answer at all, or when it answered with an error and nothing was found.
    """
    if max_requests < 1:
        raise ValueError("max_requests must be at least 1")
    search = _Search(client, max_requests)
    page_error: FetchError | None = None
    base, html = url, ""
    try:
        page = await search.get(url, kind="page")
    except (HttpStatusError, TooLargeError) as exc:
        page_error = exc  # the host answers: its feeds may still be at the usual places
    else:
        base = page.final_url
        search.fetched.add(base)
        outcome = _classify_safely(page)
        if isinstance(outcome, _Feed):
            return [DiscoveredFeed(outcome.url, outcome.title, outcome.type, "self")]
        if isinstance(outcome, _Index):
            await search.check(_children_of([outcome]))
            return search.found
        html = decode_body(page.body, page.charset)[0]

    candidates = [
        _Candidate(link.url, "html-link", base, link.title) for link in links_from_html(html, base)
    ]
    candidates += [_Candidate(u, "common-path") for u in _on_site(base, COMMON_FEED_PATHS)]
    robots_url = urljoin(base, "/robots.txt")
    candidates += [_Candidate(u, "robots", robots_url) for u in await search.robots(robots_url)]
    candidates += [_Candidate(u, "common-path") for u in _on_site(base, COMMON_SITEMAP_PATHS)]
    indexes = await search.check(candidates)
    await search.check(_children_of(indexes))
    if not search.found and page_error is not None:
        raise page_error
    return search.found


class _Search:
    """One discovery run: the request budget, the URLs fetched and the feeds found so far."""

    def __init__(self, client: HttpClient, max_requests: int) -> None:
        self.client = client
        self.requests_left = max_requests
        self.fetched: set[str] = set()
        self.found: list[DiscoveredFeed] = []

    async def get(self, url: str, *, kind: Literal["feed", "page"]) -> Response:
        if self.requests_left <= 0:
            raise FetchError(f"discovery request budget spent before {url}", reason="budget")
        self.requests_left -= 1
        self.fetched.add(url)
        return await self.client.get(url, kind=kind)

    async def robots(self, robots_url: str) -> list[str]:
        try:
            resp = await self.get(robots_url, kind="page")
        except FetchError as exc:
            log.debug("discovery: no robots.txt at %s: %s", robots_url, exc)
            return []
        return sitemaps_from_robots(decode_body(resp.body, resp.charset)[0], resp.final_url)

    async def check(self, candidates: list[_Candidate]) -> list[_Index]:
        """Verify the candidates not fetched yet, within budget; record feeds in candidate order."""
        fresh: list[_Candidate] = []
        for candidate in candidates:
            if len(fresh) >= self.requests_left:
                break
            if candidate.url in self.fetched:
                continue
            self.fetched.add(candidate.url)
            fresh.append(candidate)
        self.requests_left -= len(fresh)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def verify(candidate: _Candidate) -> _Feed | _Index | None:
            async with gate:
                try:
                    resp = await self.client.get(candidate.url, kind="feed")
                except FetchError as exc:
                    log.debug("discovery: %s skipped: %s", candidate.url, exc)
                    return None
                return _classify_safely(resp)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(verify(c)) for c in fresh]
        indexes: list[_Index] = []
        for candidate, task in zip(fresh, tasks, strict=True):
            outcome = task.result()
            if isinstance(outcome, _Index):
                indexes.append(outcome)
            elif isinstance(outcome, _Feed) and all(f.url != outcome.url for f in self.found):
                self.found.append(
                    DiscoveredFeed(
                        url=outcome.url,
                        title=candidate.title or outcome.title,
                        type=outcome.type,
                        how=candidate.how,
                        via=candidate.via,
                    )
                )
            if outcome is not None:
                self.fetched.add(outcome.url)  # a redirect target is not fetched again
        return indexes


def _classify_safely(resp: Response) -> _Feed | _Index | None:
    try:
        return _classify(resp)
    except NewswireError as exc:
        log.debug("discovery: %s is not a feed: %s", resp.final_url, exc)
        return None


def _classify(resp: Response) -> _Feed | _Index | None:
    """What a response is: a feed (by root element, then parse_feed), a sitemap index, or None."""
    body = sitemaps.maybe_gunzip(resp.body)
    root = sitemaps.root_tag(body)
    feed_type: FeedType
    if root is None:
        # Not XML: a JSON Feed, or nothing (parse_feed decides which).
        if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            return None
        feed_type = "json"
    elif root.name == "sitemapindex":
        children = sitemaps.parse_sitemap_index(body, url=resp.final_url)
        return _Index(resp.final_url, [child.url for child in children])
    elif root.name == "urlset":
        feed_type = "news-sitemap" if sitemaps.NEWS_NS in root.namespaces else "sitemap"
    elif root.name in _ROOT_TYPES:
        feed_type = _ROOT_TYPES[root.name]
    else:
        return None  # an HTML page (a soft 404, say) or some other XML
    parsed = parse_feed(body, url=resp.final_url, content_type=resp.content_type)
    return _Feed(resp.final_url, parsed.title, feed_type)


def _children_of(indexes: list[_Index]) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    for index in indexes:
        # News sitemaps are what a news pipeline wants; the rest are usually archives.
        ranked = sorted(index.children, key=lambda u: "news" not in u.lower())
        candidates += [
            _Candidate(u, "sitemap-index", index.url) for u in ranked[:MAX_CHILDREN_PER_INDEX]
        ]
    return candidates


def _on_site(base: str, paths: tuple[str, ...]) -> list[str]:
    return [u for u in (_join(base, path) for path in paths) if u is not None]


def _join(base: str, href: str) -> str | None:
    """`href` resolved against `base`, without fragment; None unless it is an http(s) URL."""
    try:
        url = urldefrag(urljoin(base, href)).url
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None
