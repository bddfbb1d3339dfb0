"""The fetcher dies between sending a poll's entries and writing the feed's state, which
marks them seen: restarted, it emits every entry (issue 13, item 4). Written the other
way round, the entries of a poll cut short there would never be emitted.

Real broker, the fetcher as a real process killed by its own fault point (os._exit, as
a SIGKILL or an OOM kill would), real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from services.common import faults
from services.common.settings import Settings
from services.common.topicread import read_topic
from services.common.topics import ENTRIES
from services.devtools.stack import Stack
from tests.conftest import serve_locally

N_ENTRIES = 25
CHANGELOG = "newswire-fetcher-feed-state-changelog"
WAIT_S = 300.0


class FeedSite:
    """One feed of N_ENTRIES items and their pages, on 127.0.0.1 in a thread."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.base = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def feed_url(self) -> str:
        return f"{self.base}/{self.run}/feed.xml"

    def guids(self) -> set[str]:
        return {f"{self.run}-{i}" for i in range(N_ENTRIES)}

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def feed(request: web.Request) -> web.Response:
            items = "".join(
                f"<item><title>Story {i}</title><link>{self.base}/{self.run}/a/{i}.html</link>"
                f"<guid>{self.run}-{i}</guid></item>"
                for i in range(N_ENTRIES)
            )
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}'
            return web.Response(text=body + "</channel></rss>", content_type="application/rss+xml")

        async def article(request: web.Request) -> web.Response:
            return web.Response(
                text="<html><body><p>Story.</p></body></html>", content_type="text/html"
            )

        async def start() -> None:
            app = web.Application()
            app.router.add_get(f"/{self.run}/feed.xml", feed)
            app.router.add_get(f"/{self.run}/a/{{name}}", article)
            self._runner, self.base = await serve_locally(app)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(30)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def site() -> Iterator[FeedSite]:
    s = FeedSite(uuid.uuid4().hex[:8])
    s.start()
    try:
        yield s
    finally:
        s.stop()


def emitted(settings: Settings, site: FeedSite) -> Counter[str]:
    records = asyncio.run(read_topic(settings, ENTRIES.name, timeout=3.0))
    ids = (r["value"].get("entry_id") for r in records if isinstance(r["value"], dict))
    return Counter(i for i in ids if isinstance(i, str) and i.startswith(site.run))


def feed_states(settings: Settings, site: FeedSite) -> list[str]:
    """The feed's state records on the table's changelog, oldest first."""
    records = asyncio.run(read_topic(settings, CHANGELOG, timeout=3.0))
    mine: list[tuple[int, str]] = []
    for r in records:
        if site.feed_url in str(r["key"]):
            mine.append((r["offset"], str(r["value"])))
    return [value for _, value in sorted(mine)]


def seen_in(state: str, site: FeedSite) -> set[str]:
    return {guid for guid in site.guids() if guid in state}


def test_fetcher_killed_between_send_and_state_emits_every_entry(
    site: FeedSite, stack: Stack, kafka_settings: Settings
) -> None:
    feeds = stack.run_dir / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - {site.feed_url}\n")
    env = {"NEWSWIRE_FEEDS_FILE": str(feeds), "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0"}

    proc = stack.start_service("fetcher", {**env, "NEWSWIRE_FAULT_INJECT": faults.POLL_SENT})
    code = proc.popen.wait(timeout=WAIT_S)
    stack.procs.pop("fetcher")
    assert code == faults.EXIT_CODE, f"exit code {code}; log in {proc.log}"
    log_text = proc.log.read_text()
    assert f"dying at {faults.POLL_SENT}" in log_text

    # At the kill: the entries are on the broker, and the feed's state does not mark
    # them seen (it was to be written after their acknowledgement).
    assert set(emitted(kafka_settings, site)) == site.guids()
    states = feed_states(kafka_settings, site)
    assert states, "the feed was registered"
    assert not seen_in(states[-1], site), "the state was written before the kill"

    # Restarted without the fault: the poll is made again, and this time the state is
    # written after the entries, which are all there.
    stack.start_service("fetcher", env)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        states = feed_states(kafka_settings, site)
        if states and seen_in(states[-1], site) == site.guids():
            break
        assert stack.procs["fetcher"].alive(), f"fetcher died; log in {stack.run_dir}"
    else:
        pytest.fail(f"the restarted fetcher did not save the feed; log in {stack.run_dir}")
    counts: Counter[Any] = emitted(kafka_settings, site)
    assert set(counts) == site.guids()
    print(f"entries emitted: {sum(counts.values())} records for {len(counts)} entries")
