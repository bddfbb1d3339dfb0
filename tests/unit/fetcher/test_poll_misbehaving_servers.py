"""poll_feed against misbehaving servers on 127.0.0.1: every misbehaviour is a counted
dead letter, never a crash; Retry-After is honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.models import DeadLetter, FeedPoll, FeedRecord, decode, encode
from services.common.settings import Settings
from services.common.topics import DLQ, ENTRIES
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import load_state, poll_feed, register_feed
from tests.unit.fetcher.misbehaving import Servers, run_client, small_settings


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/slow/900/10", "timeout"),
        ("/endless", "too_large"),
        ("/bomb/gzip/10000000", "too_large"),
        ("/cycle/2/0", "redirects"),
        ("/429?after=60", "http_status"),
        ("/to?url=http%3A%2F%2F0.0.0.0%2F", "blocked_address"),
    ],
)
def test_poll_feed_dead_letters_each_misbehaviour(servers: Servers, path: str, reason: str) -> None:
    url = servers.base + path
    table: dict[str, str] = {}
    outputs, attempts = _poll_once(url, table, small_settings())
    assert isinstance(outputs, list), outputs
    [dead] = outputs
    assert dead.topic == DLQ.name and decode(DeadLetter, dead.value).reason == reason
    state = load_state(table, url)
    assert state is not None and state.error_count == 1
    assert all(a[0] == "127.0.0.1" for a in attempts)


def _poll_once(url: str, table: dict[str, str], cfg: Settings) -> tuple[Any, list[Any]]:
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)

    async def poll(client: HttpClient) -> Any:
        return await poll_feed(
            encode(FeedPoll(url=url, partition=0)),
            table=table,
            client=client,
            config=config_from(cfg),
        )

    outputs, attempts, _ = run_client(poll, cfg)
    return outputs, attempts


def test_poll_feed_waits_at_least_retry_after_on_429(servers: Servers) -> None:
    url = f"{servers.base}/429?after=7200"
    table: dict[str, str] = {}
    before = datetime.now(UTC)
    outputs, _ = _poll_once(url, table, small_settings())
    assert isinstance(outputs, list) and [o.topic for o in outputs] == [DLQ.name]
    state = load_state(table, url)
    assert state is not None and state.next_poll_at >= before + timedelta(seconds=7200)


def test_poll_feed_dead_letters_a_feed_with_a_bad_character_reference(servers: Servers) -> None:
    url = f"{servers.base}/charref"
    table: dict[str, str] = {}
    outputs, _ = _poll_once(url, table, small_settings())
    assert isinstance(outputs, list), outputs
    [dead] = outputs
    assert dead.topic == DLQ.name and decode(DeadLetter, dead.value).reason == "feed_parse"
    state = load_state(table, url)
    assert state is not None and state.error_count == 1


def test_poll_feed_emits_the_entry_of_a_good_feed(servers: Servers) -> None:
    """The control: the same harness does see entries when the server behaves."""
    url = f"{servers.base}/ok"
    table: dict[str, str] = {}
    outputs, _ = _poll_once(url, table, small_settings())
    assert isinstance(outputs, list) and [o.topic for o in outputs] == [ENTRIES.name]
