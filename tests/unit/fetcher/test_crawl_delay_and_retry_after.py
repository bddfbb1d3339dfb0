"""Crawl-delay (with NEWSWIRE_HOST_MIN_DELAY_SECONDS and the 60 s cap) and Retry-After on
503/429, against real HTTP servers on 127.0.0.1.

Asserted on what the fetcher schedules (the wait the host gate asks for, a feed's
next_poll_at), never on how long anything took: the gate's clock is a fake one that
moves only when the gate sleeps, so a minute's Crawl-delay costs no minute here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from aiohttp import web

from services.common.models import DeadLetter, Entry, FeedPoll, FeedRecord, decode, encode, utcnow
from services.common.settings import Settings
from services.common.topics import DLQ
from services.fetcher.net import politeness
from services.fetcher.net.http import HttpClient
from services.fetcher.net.politeness import HostGate
from services.fetcher.net.robots import RobotsCache
from services.fetcher.pipeline import fetch_page, load_state, poll_feed, register_feed
from services.fetcher.state.schedule import ScheduledTable
from tests.conftest import serve_locally

AGENT = "NewswireBot/0.1 (+https://n.example)"
PAGE = "<html><body><p>A story.</p></body></html>"

# --- Crawl-delay -------------------------------------------------------------------------------


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
    robots = RobotsCache(client, settings.user_agent, settings.robots_cache_seconds)
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
    gate = HostGate(settings.host_min_delay_seconds, max_requests=settings.page_concurrency)
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


# --- Retry-After on 503 and 429 ----------------------------------------------------------------


@pytest.fixture
async def feed_server() -> AsyncIterator[str]:
    """/status/{code}?after=... answers that status with that Retry-After (if given)."""

    async def answer(request: web.Request) -> web.Response:
        headers = {}
        if "after" in request.query:
            headers["Retry-After"] = request.query["after"]
        return web.Response(status=int(request.match_info["code"]), headers=headers)

    app = web.Application()
    app.router.add_get("/status/{code}", answer)
    runner, base = await serve_locally(app)
    yield base
    await runner.cleanup()


async def _poll_once(url: str, settings: Settings) -> tuple[ScheduledTable, list[DeadLetter]]:
    table = ScheduledTable({})
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    client = HttpClient(settings)
    try:
        outputs = await poll_feed(
            encode(FeedPoll(url=url, partition=0)), table=table, client=client, settings=settings
        )
    finally:
        await client.close()
    assert outputs and all(o.topic == DLQ.name for o in outputs)
    return table, [decode(DeadLetter, o.value) for o in outputs]


POLL_SETTINGS = {
    "allow_private_networks": True,
    "poll_min_interval_seconds": 300.0,
    "poll_max_interval_seconds": 6 * 3600.0,
}


@pytest.mark.parametrize(
    ("status", "after", "expected_s"),
    [
        # Two hours asked for: more than the first error's backoff (300 s +-20%).
        (503, "7200", 7200.0),
        (429, "7200", 7200.0),
        # Beyond the 6 h cap of the backoff: still honoured...
        (503, "43200", 43200.0),
        # ...up to a day.
        (503, "999999", 86400.0),
    ],
)
async def test_retry_after_sets_the_next_poll(
    feed_server: str, status: int, after: str, expected_s: float
) -> None:
    url = f"{feed_server}/status/{status}?after={after}"
    table, [dead] = await _poll_once(url, Settings(**POLL_SETTINGS))
    assert (dead.stage, dead.reason) == ("fetcher", "http_status")
    slot = table.slots[url]
    assert slot.failing
    state = load_state(table.table, url)
    assert state is not None and state.last_polled_at is not None
    assert state.last_status == status and state.error_count == 1
    # The scheduler polls a feed once its slot's next_poll_at has passed: no earlier
    # than Retry-After says.
    assert slot.next_poll_at == state.next_poll_at
    assert state.next_poll_at - state.last_polled_at == timedelta(seconds=expected_s)


async def test_retry_after_as_an_http_date(feed_server: str) -> None:
    when = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    url = f"{feed_server}/status/503?after={format_datetime(when, usegmt=True)}"
    table, _ = await _poll_once(url, Settings(**POLL_SETTINGS))
    # The poll's "now" is a little after `when` was written: the next poll lands on the
    # date itself (float rounding aside), not on now + 3 h.
    assert abs(table.slots[url].next_poll_at - when) < timedelta(milliseconds=1)


async def test_a_503_without_retry_after_backs_off_from_the_minimum(feed_server: str) -> None:
    # The contrast that shows Retry-After, not the backoff, made the waits above.
    url = f"{feed_server}/status/503"
    table, _ = await _poll_once(url, Settings(**POLL_SETTINGS))
    state = load_state(table.table, url)
    assert state is not None and state.last_polled_at is not None
    wait = state.next_poll_at - state.last_polled_at
    assert timedelta(seconds=240) <= wait <= timedelta(seconds=360), wait
