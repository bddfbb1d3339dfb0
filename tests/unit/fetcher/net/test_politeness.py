"""Per-host politeness (net.politeness): one request at a time per host, spaced by the
host's Crawl-delay within the cap, counted from the end of the previous request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace

import pytest
from aiohttp import web

from services.common.models import Entry, encode
from services.common.settings import Settings
from services.fetcher.net import politeness
from services.fetcher.net.http import HttpClient
from services.fetcher.net.politeness import HostGate
from services.fetcher.net.robots import RobotsCache
from services.fetcher.pipeline import fetch_page
from tests.conftest import serve_locally

AGENT = "NewswireBot/0.1 (+https://n.example)"


PAGE = "<html><body><p>A story.</p></body></html>"


class FakeClock:
    """The gate's monotonic clock and sleep: a sleep records its length and moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._real_sleep = asyncio.sleep

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await self._real_sleep(0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    # Only the gate's own names: the event loop and aiohttp keep the real clock.
    monkeypatch.setattr(politeness, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(
        politeness, "asyncio", SimpleNamespace(sleep=fake.sleep, Semaphore=asyncio.Semaphore)
    )
    return fake


Site = Callable[[str], Awaitable[str]]


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    """Starts a site on 127.0.0.1 with the given robots.txt; its base URL."""
    runners: list[web.AppRunner] = []

    async def start(robots_txt: str) -> str:
        app = web.Application()
        app.router.add_get("/robots.txt", lambda _: _text(robots_txt, "text/plain"))
        app.router.add_get("/news/{n}", lambda _: _text(PAGE, "text/html"))
        runner, base = await serve_locally(app)
        runners.append(runner)
        return base

    yield start
    for runner in runners:
        await runner.cleanup()


async def _text(body: str, content_type: str) -> web.Response:
    return web.Response(text=body, content_type=content_type)


async def _fetch_pages(
    links: list[str], settings: Settings, gate: HostGate, client: HttpClient
) -> None:
    robots = RobotsCache(client, settings.fetcher.user_agent, settings.fetcher.robots_cache_seconds)
    for i, link in enumerate(links):
        entry = Entry(entry_id=f"e{i}", feed_url="http://f.example/feed", link=link)
        [out] = await fetch_page(encode(entry), client=client, gate=gate, robots=robots)
        assert out.topic == "newswire.pages"


@pytest.mark.parametrize(
    ("min_delay", "robots_txt", "expected"),
    [
        # No Crawl-delay: NEWSWIRE_HOST_MIN_DELAY_SECONDS spaces the requests.
        (1.0, "User-agent: *\nDisallow: /private/\n", 1.0),
        # A longer Crawl-delay wins over the minimum...
        (1.0, "User-agent: *\nCrawl-delay: 7\n", 7.0),
        # ...a shorter one does not lower it.
        (5.0, "User-agent: *\nCrawl-delay: 2\n", 5.0),
        (0.0, "User-agent: *\nCrawl-delay: 0.5\n", 0.5),
        # An hour's Crawl-delay is capped at 60 s (it would hold a slot for an hour).
        (1.0, "User-agent: *\nCrawl-delay: 3600\n", 60.0),
        (1.0, "User-agent: *\nCrawl-delay: 61\n", 60.0),
        # Another robot's Crawl-delay is not ours.
        (1.0, "User-agent: OtherBot\nCrawl-delay: 30\n\nUser-agent: *\nAllow: /\n", 1.0),
        # Our group's Crawl-delay applies, not the catch-all's.
        (1.0, "User-agent: NewswireBot\nCrawl-delay: 9\n\nUser-agent: *\nCrawl-delay: 20\n", 9.0),
    ],
)
async def test_a_hosts_requests_are_spaced_by_its_crawl_delay_within_the_cap(
    clock: FakeClock, site: Site, min_delay: float, robots_txt: str, expected: float
) -> None:
    settings = Settings(
        allow_private_networks=True, user_agent=AGENT, host_min_delay_seconds=min_delay
    )
    base = await site(robots_txt)
    other = await site(robots_txt)  # another host (port): its own turns
    client = HttpClient(settings)
    gate = HostGate(
        settings.fetcher.host_min_delay_seconds, max_requests=settings.fetcher.page_concurrency
    )
    try:
        await _fetch_pages([f"{base}/news/1"], settings, gate, client)
        assert clock.sleeps == []  # a host's first request waits for nobody
        await _fetch_pages([f"{other}/news/1"], settings, gate, client)
        assert clock.sleeps == []  # nor does another host's, right after it
        await _fetch_pages([f"{base}/news/2", f"{base}/news/3"], settings, gate, client)
    finally:
        await client.close()
    # The clock stood still while the pages were fetched, so each wait is the whole delay.
    assert clock.sleeps == [expected, expected]


async def test_the_wait_counts_from_the_end_of_the_previous_request(clock: FakeClock) -> None:
    gate = HostGate(min_delay_s=10.0)
    async with gate.turn("a.example", crawl_delay_s=None):
        clock.now += 4.0  # the request itself took 4 s
    clock.now += 3.0  # and 3 s passed before the next entry came
    async with gate.turn("a.example", crawl_delay_s=None):
        pass
    assert clock.sleeps == [pytest.approx(10.0 - 3.0)]


async def test_host_gate_serialises_and_spaces_requests() -> None:
    gate = HostGate(min_delay_s=0.2)
    # Requests in a host's turn now and at most, per host: the gate serialises per host.
    active = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}
    started: list[str] = []
    finished: dict[str, list[float]] = {"a": [], "b": []}

    async def request(host: str) -> None:
        async with gate.turn(host):
            started.append(host)
            active[host] += 1
            peak[host] = max(peak[host], active[host])
            await asyncio.sleep(0.01)
            active[host] -= 1
            finished[host].append(time.monotonic())

    await asyncio.gather(*(request("a") for _ in range(3)), request("b"))
    assert peak == {"a": 1, "b": 1}, peak
    gaps = [b - a for a, b in zip(finished["a"], finished["a"][1:], strict=False)]
    # A lower bound only (a sleep never ends early): safe on a loaded machine.
    assert len(finished["a"]) == 3 and all(g >= 0.2 for g in gaps), gaps
    # Host b was not made to wait behind host a: it had its turn before a's second.
    assert started.index("b") < [i for i, h in enumerate(started) if h == "a"][1], started
