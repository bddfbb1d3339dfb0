"""Misbehaving HTTP servers on 127.0.0.1 for the fetcher's tests, and a client run that
refuses (and records) any connection to another address.

Both servers run in a thread and loop of their own, as remote servers would: an aiohttp
app (slow and endless bodies, compression bombs, redirect loops, 429, a redirect to any
URL) and a hand-written HTTP server for what aiohttp will not send (a wrong
Content-Length). The `servers` fixture (conftest.py) starts them once per module."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from services.common.settings import Settings
from services.fetcher.net.http import HttpClient

T = TypeVar("T")


CAP = 100_000


READ_TIMEOUT = 0.5


GOOD_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title><item><guid>1</guid>'
    b"<link>http://news.example/1</link><title>one</title></item></channel></rss>"
)


_compressed: dict[tuple[str, int], bytes] = {}


def bomb(coding: str, size: int) -> bytes:
    if (coding, size) not in _compressed:
        zeros = b"\0" * size
        _compressed[coding, size] = (
            gzip.compress(zeros, 9, mtime=0) if coding == "gzip" else zlib.compress(zeros, 9)
        )
    return _compressed[coding, size]


async def _ok(_: web.Request) -> web.Response:
    return web.Response(body=GOOD_RSS, content_type="application/rss+xml")


async def _slow(request: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte every `gap` ms, `n` times."""
    gap, n = int(request.match_info["gap"]) / 1000, int(request.match_info["n"])
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await resp.prepare(request)
    await resp.write(b"<")
    for _ in range(n):
        await asyncio.sleep(gap)
        await resp.write(b"r")
    return resp


async def _endless(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    chunk = b"<item>" + b"x" * 8192 + b"</item>"
    for _ in range(10_000):  # ~80 MB: far past any cap, but not forever if nobody reads
        await resp.write(chunk)
    return resp


async def _gzip_bomb(request: web.Request) -> web.Response:
    coding, size = request.match_info["coding"], int(request.match_info["size"])
    return web.Response(
        body=bomb(coding, size),
        headers={"Content-Encoding": coding, "Content-Type": "application/rss+xml"},
    )


async def _cycle(request: web.Request) -> web.Response:
    k, i = int(request.match_info["k"]), int(request.match_info["i"])
    status = int(request.query.get("status", "302"))
    target = f"/cycle/{k}/{(i + 1) % k}?status={status}"
    if request.query.get("absolute"):
        target = f"http://{request.host}{target}&absolute=1"
    return web.Response(status=status, headers={"Location": target})


async def _charref(_: web.Request) -> web.Response:
    body = GOOD_RSS.replace(b"<title>one</title>", b"<title>one &#xD800;</title>")
    return web.Response(body=body, content_type="application/rss+xml")


async def _too_many(request: web.Request) -> web.Response:
    return web.Response(status=429, headers={"Retry-After": request.query.get("after", "120")})


async def _to(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["url"])


def _app() -> web.Application:
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/slow/{gap}/{n}", _slow)
    app.router.add_get("/endless", _endless)
    app.router.add_get("/bomb/{coding}/{size}", _gzip_bomb)
    app.router.add_get("/cycle/{k}/{i}", _cycle)
    app.router.add_get("/429", _too_many)
    app.router.add_get("/charref", _charref)
    app.router.add_get("/to", _to)
    return app


RAW_TASKS: set[asyncio.Task[None]] = set()


async def _raw_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Hand-written answers with a wrong Content-Length: /cl/{declared}/{sent}/{close|hold}.

    Keeps serving requests on the connection, so a client that reuses it after a
    short Content-Length meets the leftover bytes.
    """
    task = asyncio.current_task()
    assert task is not None
    RAW_TASKS.add(task)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            parts = path.strip("/").split("/")
            if parts[0] != "cl":
                body = GOOD_RSS
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n")
                writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
                continue
            declared, sent, then = int(parts[1]), int(parts[2]), parts[3]
            body = (GOOD_RSS * (sent // len(GOOD_RSS) + 1))[:sent]
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Content-Length: %d\r\n\r\n" % declared + body
            )
            await writer.drain()
            if then == "close":
                break
            if then == "hold":
                await asyncio.sleep(10)
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
        RAW_TASKS.discard(task)


@dataclass
class Servers:
    base: str  # aiohttp
    raw: str  # hand-written HTTP


@contextmanager
def serve_misbehaving() -> Iterator[Servers]:
    """Both servers in their own thread and loop, as remote servers would be."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, asyncio.Server, Servers]:
        runner = web.AppRunner(_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        raw = await asyncio.start_server(_raw_http, "127.0.0.1", 0)
        raw_port = raw.sockets[0].getsockname()[1]
        return (
            runner,
            raw,
            Servers(f"http://127.0.0.1:{runner.addresses[0][1]}", f"http://127.0.0.1:{raw_port}"),
        )

    runner, raw, found = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield found

    async def stop() -> None:
        raw.close()
        for task in list(RAW_TASKS):
            task.cancel()
        await asyncio.gather(*RAW_TASKS, return_exceptions=True)
        await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def small_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "allow_private_networks": True,
        "fetch_connect_timeout": 1.0,
        "fetch_read_timeout": READ_TIMEOUT,
        "fetch_total_timeout": 3.0,
        "fetch_max_bytes": CAP,
        "fetch_max_redirects": 3,
        "poll_min_interval_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(**values)


def spy_connections(loop: asyncio.AbstractEventLoop) -> list[Any]:
    """Record every outgoing connection; refuse (never attempt) any to a non-loopback address."""
    attempts: list[Any] = []
    real_connect = loop.sock_connect

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"test refused a connection to {address!r}")
        await real_connect(sock, address)

    loop.sock_connect = sock_connect  # type: ignore[method-assign]
    return attempts


def run_client(
    fn: Callable[[HttpClient], Awaitable[T]], settings_: Settings, *, hang: float = 8.0
) -> tuple[T | BaseException, list[Any], float]:
    """Run fn(client) on a fresh loop: (result or the exception, connections, seconds)."""

    async def main() -> tuple[T | BaseException, list[Any], float]:
        attempts = spy_connections(asyncio.get_running_loop())
        client = HttpClient(settings_)
        started = time.perf_counter()
        try:
            result: T | BaseException = await asyncio.wait_for(fn(client), hang)
        except TimeoutError as exc:
            raise AssertionError(f"no answer in {hang}s: the client hangs") from exc
        except Exception as exc:
            result = exc
        finally:
            await client.close()
        return result, attempts, time.perf_counter() - started

    return asyncio.run(main())


def fetch(url: str, settings_: Settings, *, hang: float = 8.0) -> tuple[Any, list[Any], float]:
    return run_client(lambda c: c.get(url, kind="feed"), settings_, hang=hang)
