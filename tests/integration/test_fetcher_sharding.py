"""Two fetcher replicas split the feeds by partition; one takes over when the other dies."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.common.topicread import read_topic
from services.devtools.stack import Stack
from tests.integration.conftest import forget_feeds

N_FEEDS = 12
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>
<item><title>Story {i}</title><link>{base}/{run}/articles/{i}.html</link>
<guid>{run}-{i}</guid></item></channel></rss>"""


class FeedServer:
    """Real HTTP on 127.0.0.1 in a thread; records which replica (User-Agent) polled what."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.polls: list[tuple[float, str, str]] = []
        self.base = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def feed(request: web.Request) -> web.Response:
            i = request.match_info["i"]
            self.polls.append((time.monotonic(), i, request.headers.get("User-Agent", "")))
            body = RSS.format(i=i, base=self.base, run=self.run)
            return web.Response(text=body, content_type="application/rss+xml")

        async def article(request: web.Request) -> web.Response:
            return web.Response(
                text="<html><body><p>Story.</p></body></html>", content_type="text/html"
            )

        async def start() -> None:
            app = web.Application()
            app.router.add_get(f"/{self.run}/feeds/{{i}}.xml", feed)
            app.router.add_get(f"/{self.run}/articles/{{i}}.html", article)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def polls_since(self, t0: float) -> dict[str, list[str]]:
        """Each feed's pollers since t0, in the order of their polls."""
        by_feed: dict[str, list[str]] = {}
        for when, feed, agent in list(self.polls):
            if when >= t0:
                by_feed.setdefault(feed, []).append(agent.split("/")[0])
        return by_feed

    def pollers_since(self, t0: float) -> dict[str, set[str]]:
        by_feed: dict[str, set[str]] = {}
        for when, feed, agent in list(self.polls):
            if when >= t0:
                by_feed.setdefault(feed, set()).add(agent.split("/")[0])
        return by_feed


def gauge(port: int | None, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def wait_until(check: object, timeout: float, what: object) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"timed out: {what() if callable(what) else what}")


def settled(polls: dict[str, list[str]], feeds: set[str]) -> bool:
    return set(polls) == feeds and all(
        len(agents) >= 2 and len(set(agents[-2:])) == 1 for agents in polls.values()
    )


def polled_twice(polls: dict[str, list[str]], feeds: set[str]) -> bool:
    return set(polls) == feeds and all(len(agents) >= 2 for agents in polls.values())


@pytest.fixture
def cluster(kafka_settings: Settings, tmp_path: Path) -> Iterator[tuple[Stack, FeedServer]]:
    run = uuid.uuid4().hex[:8]
    server = FeedServer(run)
    server.start()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n" + "".join(f"  - {server.base}/{run}/feeds/{i}.xml\n" for i in range(N_FEEDS))
    )
    asyncio.run(ensure_topics(kafka_settings))
    assert kafka_settings.kafka.bootstrap
    stack = Stack(kafka_settings.kafka.bootstrap, seeds_url=server.base, run_dir=tmp_path)
    try:
        yield stack, server
    finally:
        stack.stop()
        server.stop()
        forget_feeds(kafka_settings, feeds)


def test_two_replicas_split_the_feeds_and_fail_over(
    cluster: tuple[Stack, FeedServer], kafka_settings: Settings
) -> None:
    stack, server = cluster
    env = {
        "NEWSWIRE_FEEDS_FILE": str(stack.run_dir / "feeds.yaml"),
        "NEWSWIRE_POLL_MIN_INTERVAL_SECONDS": "1",
        "NEWSWIRE_POLL_MAX_INTERVAL_SECONDS": "2",
        "NEWSWIRE_KAFKA_SESSION_TIMEOUT_SECONDS": "6",
        "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0",
    }
    # Start one replica, let it poll everything, then the second joins and takes half.
    a = stack.start_service("fetcher", {**env, "NEWSWIRE_USER_AGENT": "ReplicaA/1"})
    wait_until(lambda: gauge(a.port, "newswire_feeds_tracked") == N_FEEDS, 120, "A owns all feeds")
    stack.procs["fetcher-a"] = stack.procs.pop("fetcher")
    b = stack.start_service("fetcher", {**env, "NEWSWIRE_USER_AGENT": "ReplicaB/1"})
    stack.procs["fetcher-b"] = stack.procs.pop("fetcher")

    def split() -> bool:
        ta, tb = gauge(a.port, "newswire_feeds_tracked"), gauge(b.port, "newswire_feeds_tracked")
        return ta > 0 and tb > 0 and ta + tb == N_FEEDS

    all_feeds = {str(i) for i in range(N_FEEDS)}
    wait_until(split, 120, "both replicas own feeds")
    # Partitions that moved are recovered from their changelog before polling resumes.
    t_split = time.monotonic()
    wait_until(
        lambda: set(server.pollers_since(t_split)) == all_feeds,
        120,
        lambda: (
            f"polls resume: {server.pollers_since(t_split)}; "
            f"A {gauge(a.port, 'newswire_feeds_tracked')}, "
            f"B {gauge(b.port, 'newswire_feeds_tracked')}"
        ),
    )
    # Settled: each feed's last two polls came from one replica, so polls scheduled
    # before the rebalance have drained (an event, not a guessed number of seconds).
    wait_until(
        lambda: settled(server.polls_since(t_split), all_feeds),
        120,
        lambda: f"polls settle: {server.polls_since(t_split)}",
    )
    t0 = time.monotonic()
    # Two rounds of polls of every feed, however long the loaded machine takes for them.
    wait_until(
        lambda: polled_twice(server.polls_since(t0), all_feeds),
        120,
        lambda: f"two rounds of polls: {server.polls_since(t0)}",
    )
    pollers = server.pollers_since(t0)
    assert set(pollers) == {str(i) for i in range(N_FEEDS)}, "every feed is polled"
    assert all(len(agents) == 1 for agents in pollers.values()), pollers
    assert {"ReplicaA", "ReplicaB"} == set().union(*pollers.values())

    # B dies without a goodbye; after the session timeout A takes all of its feeds.
    stack.stop_service("fetcher-b", sig=signal.SIGKILL)
    wait_until(lambda: gauge(a.port, "newswire_feeds_tracked") == N_FEEDS, 120, "A takes over")
    t_over = time.monotonic()
    wait_until(lambda: set(server.pollers_since(t_over)) == all_feeds, 120, "A polls them all")
    t1 = time.monotonic()
    wait_until(
        lambda: polled_twice(server.polls_since(t1), all_feeds),
        120,
        lambda: f"two rounds of polls by A: {server.polls_since(t1)}",
    )
    pollers = server.pollers_since(t1)
    assert set(pollers) == {str(i) for i in range(N_FEEDS)}
    assert all(agents == {"ReplicaA"} for agents in pollers.values()), pollers

    # The state travelled with the partitions: no entry was emitted twice.
    records = asyncio.run(read_topic(kafka_settings, "newswire.entries", timeout=3.0))
    # Other tests of the session put records of their own there, undecodable ones too.
    values = [r["value"] for r in records if isinstance(r["value"], dict)]
    mine = [v["entry_id"] for v in values if str(v.get("entry_id", "")).startswith(server.run)]
    assert sorted(mine) == sorted(f"{server.run}-{i}" for i in range(N_FEEDS))
