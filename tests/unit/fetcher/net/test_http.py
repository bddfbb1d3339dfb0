"""The HTTP client (net.http): redirects, cookies, limits, and misbehaving servers on
127.0.0.1 (slow and endless bodies, wrong Content-Length, compression bombs,
redirect loops, 429)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import BlockedAddressError, FetchError, HttpStatusError, TooLargeError
from services.common.settings import Settings
from services.fetcher.net.http import HttpClient
from tests.unit.fetcher.misbehaving import (
    CAP,
    GOOD_RSS,
    Servers,
    bomb,
    fetch,
    run_client,
    small_settings,
    spy_connections,
)

# For the timeout tests: long enough that a body served in full (a missing timeout)
# arrives before it, so the outcome, not a stopwatch, tells which limit acted.
LONG = 120.0


FAST = settings(database=None, max_examples=6, deadline=None)


@settings(database=None, max_examples=3, deadline=None)
@given(gap_ms=st.integers(700, 1200))
def test_a_body_slower_than_the_read_timeout_times_out(servers: Servers, gap_ms: int) -> None:
    # The whole body takes 5-8 s and the total limit is far beyond it: only the read
    # timeout can make this a timeout (without it the body arrives whole).
    outcome, _, _ = fetch(
        f"{servers.base}/slow/{gap_ms}/7", small_settings(fetch_total_timeout=LONG), hang=LONG
    )
    assert isinstance(outcome, FetchError) and outcome.reason == "timeout", outcome


def test_a_dribbling_body_is_cut_by_the_total_timeout(servers: Servers) -> None:
    # One byte every 0.2 s for 20 s never trips a 30 s read timeout; the 1.5 s total
    # does. Without it the body arrives whole (well before the 120 s guard).
    outcome, _, _ = fetch(
        f"{servers.base}/slow/200/100",
        small_settings(fetch_read_timeout=30.0, fetch_total_timeout=1.5),
        hang=LONG,
    )
    assert isinstance(outcome, FetchError) and outcome.reason == "timeout", outcome


@FAST
@given(cap=st.integers(1_000, CAP))
def test_an_endless_body_is_cut_at_the_cap(servers: Servers, cap: int) -> None:
    outcome, _, _ = fetch(f"{servers.base}/endless", small_settings(fetch_max_bytes=cap))
    assert isinstance(outcome, TooLargeError), outcome


@FAST
@given(
    coding=st.sampled_from(["gzip", "deflate"]),
    size=st.sampled_from([CAP + 1, 2 * CAP, 10_000_000, 50_000_000]),
)
def test_a_compression_bomb_is_too_large(servers: Servers, coding: str, size: int) -> None:
    assert len(bomb(coding, size)) < CAP  # small on the wire...
    outcome, _, _ = fetch(f"{servers.base}/bomb/{coding}/{size}", small_settings())
    assert isinstance(outcome, TooLargeError), outcome  # ...capped after decompression


def test_a_compressed_body_under_the_cap_is_returned_whole(servers: Servers) -> None:
    outcome, _, _ = fetch(f"{servers.base}/bomb/gzip/{CAP}", small_settings())
    assert not isinstance(outcome, BaseException), outcome
    assert outcome.body == b"\0" * CAP


@settings(database=None, max_examples=6, deadline=None)
@given(declared=st.integers(1, 3 * len(GOOD_RSS)), sent=st.integers(0, 3 * len(GOOD_RSS)))
def test_a_wrong_content_length_is_a_fetch_error_or_the_declared_bytes(
    servers: Servers, declared: int, sent: int
) -> None:
    then = "close" if declared > sent else "keep"
    url = f"{servers.raw}/cl/{declared}/{sent}/{then}"

    async def twice(client: HttpClient) -> list[Any]:
        out: list[Any] = []
        for target in (url, f"{servers.raw}/ok"):  # the second reuses the connection
            try:
                out.append(await client.get(target, kind="feed"))
            except FetchError as exc:
                out.append(exc)
        return out

    outcome, _, _ = run_client(twice, small_settings())
    assert isinstance(outcome, list), outcome  # nothing but FetchError escaped
    first, second = outcome
    if declared > sent:
        assert isinstance(first, FetchError), first  # the connection closed early
    elif declared == sent:
        assert not isinstance(first, FetchError), first
        assert len(first.body) == declared
    else:
        # More bytes than declared: an error, or exactly what was declared (which of the
        # two depends on whether the surplus came in the same read).
        assert isinstance(first, FetchError) or len(first.body) == declared, first
    # Leftover bytes on a reused connection must neither pass for the next answer nor
    # spoil it: the next request gets the next server's answer, whole.
    assert not isinstance(second, FetchError), second
    assert second.body == GOOD_RSS, second


def test_a_body_shorter_than_its_content_length_on_an_open_connection_times_out(
    servers: Servers,
) -> None:
    # The server holds the connection open for 10 s and then closes it: without the read
    # timeout that close ends the request, as a different error.
    outcome, _, _ = fetch(
        f"{servers.raw}/cl/5000/100/hold", small_settings(fetch_total_timeout=LONG), hang=LONG
    )
    assert isinstance(outcome, FetchError) and outcome.reason == "timeout", outcome


@FAST
@given(
    k=st.integers(1, 4),
    status=st.sampled_from([301, 302, 303, 307, 308]),
    absolute=st.booleans(),
)
def test_redirect_loops_end_in_a_redirects_error(
    servers: Servers, k: int, status: int, absolute: bool
) -> None:
    query = f"?status={status}" + ("&absolute=1" if absolute else "")
    outcome, attempts, _ = fetch(f"{servers.base}/cycle/{k}/0{query}", small_settings())
    assert isinstance(outcome, FetchError) and outcome.reason == "redirects", outcome
    assert all(a[0] == "127.0.0.1" for a in attempts)


@FAST
@given(after=st.sampled_from(["0", "120", "86400", "Wed, 21 Oct 2037 07:28:00 GMT", "soon"]))
def test_429_is_an_http_status_error(servers: Servers, after: str) -> None:
    outcome, _, _ = fetch(f"{servers.base}/429?after={quote(after)}", small_settings())
    assert isinstance(outcome, HttpStatusError) and outcome.status == 429, outcome
    assert outcome.reason == "http_status"
    assert outcome.headers.get("retry-after") == after  # kept for the scheduler


def test_spy_refuses_non_loopback_connections() -> None:
    """The guard rail itself: the spy refuses a non-loopback connection without sending."""

    async def main() -> tuple[list[Any], BaseException | None]:
        loop = asyncio.get_running_loop()
        attempts = spy_connections(loop)
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, ("10.0.0.1", 80))
        except ConnectionRefusedError as exc:
            return attempts, exc
        finally:
            sock.close()
        return attempts, None

    attempts, error = asyncio.run(main())
    assert attempts == [("10.0.0.1", 80)] and isinstance(error, ConnectionRefusedError)


def _client(allow_private: bool) -> HttpClient:
    return HttpClient(Settings(allow_private_networks=allow_private))


def test_refused_urls_are_refused_every_time() -> None:
    client = _client(allow_private=False)
    for _ in range(2):
        with pytest.raises(BlockedAddressError):
            client._check("http://127.0.0.1/feed.xml")
        with pytest.raises(BlockedAddressError):
            client._check("http://[::ffff:10.0.0.1]/other.xml")  # host not checked yet
        with pytest.raises(FetchError) as bad:
            client._check("ftp://news.example/feed.xml")
        assert bad.value.reason == "bad_url"
    client._check("http://news.example/feed.xml")  # names are checked when resolved
    client._check("http://news.example/feed.xml")


def test_checks_that_passed_are_kept_per_client() -> None:
    allowed = _client(allow_private=True)
    allowed._check("http://127.0.0.1:8080/a.xml")
    allowed._check("http://127.0.0.1:8080/b.xml")  # same host: known
    assert allowed._checked_hosts == {"127.0.0.1"}
    with pytest.raises(BlockedAddressError):  # another client, other settings
        _client(allow_private=False)._check("http://127.0.0.1:8080/a.xml")
    with pytest.raises(BlockedAddressError):  # never allowed, whatever the settings
        allowed._check("http://0.0.0.0/a.xml")


@pytest.fixture
def client_settings() -> Settings:
    return Settings(
        allow_private_networks=True, fetch_max_bytes=200_000, poll_min_interval_seconds=1
    )


async def test_redirects_are_followed_and_recorded(
    client_settings: Settings, odd_server: str
) -> None:
    client = HttpClient(client_settings)
    try:
        resp = await client.get(f"{odd_server}/r/3", kind="page")
        assert resp.status == 200 and resp.final_url == f"{odd_server}/ok"
        assert resp.redirects == [f"{odd_server}/r/3", f"{odd_server}/r/2", f"{odd_server}/r/1"]
        with pytest.raises(FetchError) as too_many:
            await client.get(f"{odd_server}/r/9", kind="page")
        assert too_many.value.reason == "redirects"
    finally:
        await client.close()


async def test_cookies_live_for_one_redirect_chain(
    client_settings: Settings, odd_server: str
) -> None:
    client = HttpClient(client_settings)
    # By name: a shared aiohttp jar would keep cookies of a named host across fetches.
    site = odd_server.replace("127.0.0.1", "localhost")
    try:
        for _ in range(3):
            resp = await client.get(f"{site}/consent", kind="page")
            # The cookie the redirect set came back on the next hop, and no cookie
            # from an earlier fetch did: every visit is the meter's first.
            assert resp.redirects == [f"{site}/consent"]
            assert resp.body == b"<p>article; meter 0</p>"
    finally:
        await client.close()


async def test_limits_and_errors(client_settings: Settings, odd_server: str) -> None:
    client = HttpClient(client_settings)
    try:
        with pytest.raises(TooLargeError):
            await client.get(f"{odd_server}/big", kind="page")
        with pytest.raises(HttpStatusError) as missing:
            await client.get(f"{odd_server}/missing", kind="page")
        assert missing.value.status == 404
    finally:
        await client.close()


async def test_loopback_is_refused_unless_allowed(odd_server: str) -> None:
    client = HttpClient(Settings(allow_private_networks=False))
    try:
        with pytest.raises(BlockedAddressError):
            await client.get(f"{odd_server}/ok", kind="page")
        with pytest.raises(FetchError) as by_name:
            await client.get(odd_server.replace("127.0.0.1", "localhost") + "/ok", kind="page")
        assert by_name.value.reason == "blocked_address"
        # Forms the URL library folds into 127.0.0.1 before connecting to it directly.
        for disguised in ("１２７.0.0.1", "①②⑦.0.0.1", "127。0。0。1"):
            with pytest.raises(BlockedAddressError):
                await client.get(odd_server.replace("127.0.0.1", disguised) + "/ok", kind="page")
    finally:
        await client.close()
