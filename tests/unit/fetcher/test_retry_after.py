"""Retry-After on 503/429 sets a feed's next poll, against real HTTP servers on 127.0.0.1.

Asserted on what the fetcher schedules (a feed's next_poll_at), never on how long
anything took."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from services.common.models import DeadLetter, FeedPoll, FeedRecord, decode, encode, utcnow
from services.common.settings import Settings
from services.common.topics import DLQ
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import load_state, poll_feed, register_feed
from services.fetcher.state.schedule import ScheduledTable
from tests.conftest import serve_locally


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
            encode(FeedPoll(url=url, partition=0)),
            table=table,
            client=client,
            config=config_from(settings),
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
