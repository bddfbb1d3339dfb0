"""robots.txt (net.robots): RFC 9309 matching, groups and Crawl-delay, the cache, and
how a missing or broken robots.txt reads."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from services.common.errors import RobotsDisallowedError
from services.common.models import Entry, encode
from services.common.settings import Settings
from services.fetcher.net.http import HttpClient
from services.fetcher.net.robots import RobotsCache, parse_rules, pattern_matches, product_token
from services.fetcher.pipeline import fetch_page
from tests.conftest import serve_locally


def test_product_token() -> None:
    assert product_token("NewswireBot/0.1 (+https://x.example)") == "NewswireBot"


@pytest.mark.parametrize(
    ("robots", "path", "allowed"),
    [
        # `*` matches any run of characters, also across slashes.
        ("Disallow: /*/print/", "/2024/05/print/story", False),
        ("Disallow: /*/print/", "/2024/05/story", True),
        # A final `$` anchors the pattern to the end of the path and query.
        ("Disallow: /*.pdf$", "/files/report.pdf", False),
        ("Disallow: /*.pdf$", "/files/report.pdf?page=2", True),
        ("Disallow: /*.pdf$", "/files/report.pdfx", True),
        # Rules match the query too.
        ("Disallow: /*?share=", "/story?share=twitter", False),
        ("Disallow: /*?share=", "/story?id=1", True),
        ("Disallow: /*?share=", "/story", True),
        # The longest match wins, whatever the order of the lines.
        ("Disallow: /\nAllow: /news/", "/news/story", True),
        ("Disallow: /\nAllow: /news/", "/sport/story", False),
        ("Allow: /news/\nDisallow: /news/drafts/", "/news/drafts/1", False),
        ("Disallow: /news/drafts/\nAllow: /news/", "/news/drafts/1", False),
        # A tie goes to Allow.
        ("Disallow: /page\nAllow: /page", "/page/1", True),
        # Length counts the pattern as written, wildcards included.
        ("Allow: /page\nDisallow: /*.html", "/page.html", False),
        # An empty Disallow matches nothing; /robots.txt itself is always allowed.
        ("Disallow:", "/anything", True),
        ("Disallow: /", "/robots.txt", True),
        # Escapes of unreserved characters are those characters (RFC 9309 2.2.2) ...
        ("Disallow: /foo/bar/%62%61%7A", "/foo/bar/baz", False),
        ("Disallow: /foo/bar/baz", "/foo/bar/%62%61%7a", False),
        # ... non-ASCII is compared as its UTF-8 escapes, in either spelling ...
        ("Disallow: /foo/bar/ツ", "/foo/bar/%E3%83%84", False),
        ("Disallow: /foo/bar/%e3%83%84", "/foo/bar/ツ", False),
        # ... and an escaped reserved character stays distinct from the character.
        ("Disallow: /a%2Fb", "/a%2fb", False),
        ("Disallow: /a%2Fb", "/a/b", True),
    ],
)
def test_rfc9309_matching(robots: str, path: str, allowed: bool) -> None:
    rules = parse_rules(f"User-agent: *\n{robots}\n", ttl_s=60)
    assert rules.allows("NewswireBot", f"https://n.example{path}") is allowed


GROUPS = """\ufeffUser-agent: OtherBot
User-agent: newswirebot/2.0   # the product token is matched, case-insensitively
Disallow: /private/
Crawl-delay: 2.5

User-agent: Newswire
Disallow: /prefix-is-not-a-match/

User-agent: *
Disallow: /
Crawl-delay: 9

User-agent: NEWSWIREBOT
Disallow: /also-private/
Crawl-delay: 7
"""


def test_user_agent_groups_and_crawl_delay() -> None:
    rules = parse_rules(GROUPS, ttl_s=60)
    url = "https://n.example"
    # Our two groups combine; the `*` group and the `Newswire` group do not apply.
    assert rules.allows("NewswireBot", f"{url}/news/1")
    assert not rules.allows("NewswireBot", f"{url}/private/x")
    assert not rules.allows("NewswireBot", f"{url}/also-private/x")
    assert rules.allows("NewswireBot", f"{url}/prefix-is-not-a-match/x")
    assert rules.crawl_delay("NewswireBot") == 2.5  # the first of our groups' delays
    # A group may name several agents; an agent no group names gets the `*` group.
    assert not rules.allows("OtherBot", f"{url}/private/x") and rules.allows("OtherBot", url)
    assert not rules.allows("ThirdBot", f"{url}/news/1")
    assert rules.crawl_delay("ThirdBot") == 9.0


def test_no_matching_group_and_bad_crawl_delay() -> None:
    rules = parse_rules("Disallow: /orphan\nUser-agent: OtherBot\nDisallow: /\n", ttl_s=60)
    assert rules.allows("NewswireBot", "https://n.example/orphan")  # no group, no `*`: all
    assert rules.crawl_delay("NewswireBot") is None
    for bad in ("soon", "-1", "nan", "inf"):
        rules = parse_rules(f"User-agent: *\nCrawl-delay: {bad}\n", ttl_s=60)
        assert rules.crawl_delay("NewswireBot") is None, bad


def test_wildcards_do_not_backtrack() -> None:
    # A hostile pattern against a long path: linear, where a regex would take ages.
    pattern = "/" + "*a" * 40 + "*b$"
    assert not pattern_matches(pattern, "/" + "a" * 20_000)
    assert pattern_matches(pattern, "/" + "a" * 40 + "b")


async def test_robots_rules_are_honoured_and_cached(site: tuple[str, dict[str, int]]) -> None:
    base, hits = site
    settings = Settings(
        allow_private_networks=True, user_agent="NewswireBot/0.1 (+https://n.example)"
    )
    client = HttpClient(settings)
    robots = RobotsCache(client, settings.fetcher.user_agent, ttl_s=3600)
    try:
        assert await robots.check(f"{base}/news/1") == 2.0  # allowed, with its Crawl-delay
        with pytest.raises(RobotsDisallowedError) as refused:
            await robots.check(f"{base}/private/secret")
        assert refused.value.reason == "robots"
        entry = Entry(entry_id="e", feed_url="f", link=f"{base}/private/x")
        with pytest.raises(RobotsDisallowedError):
            await fetch_page(encode(entry), client=client, robots=robots)
        # A link that redirects into a disallowed path is refused at the hop.
        moved = Entry(entry_id="m", feed_url="f", link=f"{base}/moved/y")
        with pytest.raises(RobotsDisallowedError):
            await fetch_page(encode(moved), client=client, robots=robots)
        assert hits["/moved/y"] == 1
        assert hits["robots"] == 1  # fetched once, then cached
        assert "/private/x" not in hits and "/private/y" not in hits  # never requested
        other = RobotsCache(client, "OtherBot/1.0", ttl_s=3600)
        with pytest.raises(RobotsDisallowedError):
            await other.check(f"{base}/news/1")
    finally:
        await client.close()


async def test_missing_robots_allows_and_broken_robots_disallows() -> None:
    async def serve(status: int) -> tuple[web.AppRunner, str]:
        async def robots(_: web.Request) -> web.Response:
            return web.Response(status=status)

        app = web.Application()
        app.router.add_get("/robots.txt", robots)
        return await serve_locally(app)

    client = HttpClient(Settings(allow_private_networks=True))
    runners = []
    try:
        runner, missing = await serve(404)
        runners.append(runner)
        runner, broken = await serve(503)
        runners.append(runner)
        robots = RobotsCache(client, "NewswireBot/0.1", ttl_s=60)
        assert await robots.check(f"{missing}/a") is None
        with pytest.raises(RobotsDisallowedError):
            await robots.check(f"{broken}/a")
    finally:
        await client.close()
        for r in runners:
            await r.cleanup()


async def test_robots_fetches_at_once_are_bounded() -> None:
    """A backlog of new hosts asks for their robots.txt together: at most max_fetches go
    out at once, the rest wait their turn outside the connection pool."""
    in_flight, peak = 0, 0

    async def robots(_: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return web.Response(text="User-agent: *\nDisallow: /private/\n")

    app = web.Application()
    app.router.add_get("/robots.txt", robots)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ports = []
    for _ in range(12):  # twelve origins: twelve robots.txt
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    client = HttpClient(Settings(allow_private_networks=True))
    cache = RobotsCache(client, "NewswireBot/0.1", ttl_s=60, max_fetches=3)
    try:
        urls = [f"http://127.0.0.1:{port}/story" for port in ports]
        results = await asyncio.gather(*(cache.check(u) for u in urls))
        assert results == [None] * 12 and 1 <= peak <= 3  # unbounded, it reaches 12
    finally:
        await client.close()
        await runner.cleanup()


# RFC 9309 2.2.3: %2A and %24 in a rule are the characters * and $ (found comparing with
# protego, services/devtools/libcompare.py).
@pytest.mark.parametrize(
    ("pattern", "path", "allowed"),
    [
        ("/path/file-with-a-%2A.html", "/path/file-with-a-*.html", False),
        ("/path/file-with-a-%2A.html", "/path/file-with-a-x.html", True),
        ("/path/foo-%24", "/path/foo-$", False),
        ("/a$b", "/a$b/c", False),  # a `$` that does not end the pattern is the character
        ("/a$", "/a$", True),  # ... and a final one anchors
        ("/*.pdf$", "/x.pdf", False),
    ],
)
def test_escaped_wildcard_and_dollar_are_characters(pattern: str, path: str, allowed: bool) -> None:
    rules = parse_rules(f"User-agent: *\nDisallow: {pattern}\n", ttl_s=60)
    assert rules.allows("NewswireBot", f"https://n.example{path}") is allowed
