"""Fetcher benchmark: Newswire's feed-poll path against a bare aiohttp loop, on loopback.

A local aiohttp server (its own process, so its CPU is not the client's) serves N
distinct small RSS feeds at /feeds/<i>.xml. Each answers 304 when If-None-Match
matches its ETag, else 200; between rounds a share of the feeds changes (one new
item, a new ETag) and answers 200 again. The server's "epoch" (round) is set over
/_epoch, so every measurement sees the same sequence of answers.

Four clients make the same requests (same URLs, same headers, same concurrency):

* newswire: register every feed in a dict table, then per round `poll_feed` for each
  feed through one shared `HttpClient` (round 1: all 200; later rounds mostly 304);
* bare: an aiohttp session that sends the same conditional GETs, reads the body and
  keeps the validators, nothing else;
* poller: the straightforward poller a user would write: the bare loop plus
  `feedparser.parse` of every 200 body and a set of the entry ids seen (new ones
  counted as entries): what Newswire's fetcher is worth against (target 1.5x);
* http_layer: the bare loop's requests through `HttpClient.get` alone, which splits
  newswire's extra cost into its HTTP layer (SSRF guard, body cap, metrics) and the
  feed work on top (parsing, state, scheduling, records).

Measurements are interleaved (newswire, bare, http_layer, then the other way round,
...) and the medians reported: polls per second (wall clock) and client CPU milliseconds per poll
(`time.process_time`). Full results go to --out; the last line of stdout is one
JSON object with the headline figures.

    python -m services.devtools.benchfetcher --out results/bench-fetcher.json
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from services.common.errors import NewswireError
from services.common.models import FeedPoll, FeedRecord, encode
from services.common.settings import PROJECT_ROOT, Settings
from services.common.stage import Output
from services.common.topics import DLQ, ENTRIES
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import poll_feed, register_feed

T = TypeVar("T")

# What HttpClient sends as Accept for a feed; the bare loop sends the same.
ACCEPT_FEED = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
BASE_TIME = 1_700_000_000  # feed dates: fixed, so runs are reproducible
TARGET_POLLS_PER_S = 1000.0
# The fetcher against a poller a user would write (issue 15 item 5, restated: the old
# target compared it with the bare loop, which parses nothing, and is withdrawn).
TARGET_VS_POLLER = 1.5
# The HTTP layer alone (SSRF guard, body cap, metrics) against the bare loop.
TARGET_HTTP_LAYER_RATIO = 0.8


# --------------------------------------------------------------------------- server


class FeedServer:
    """N feeds whose versions advance by epoch; answers conditional GETs like a good server."""

    def __init__(self, feeds: int, changed: float, items: int, seed: int) -> None:
        self.feeds = feeds
        self.changed = changed
        self.items = items
        self.seed = seed
        self.epoch = 0
        self._versions: list[list[int]] = [[0] * feeds]
        self._bodies: dict[tuple[int, int], bytes] = {}
        self.status: Counter[int] = Counter()

    def versions(self, epoch: int) -> list[int]:
        """Feed versions at an epoch: a seeded sample of feeds gains one item per epoch."""
        while len(self._versions) <= epoch:
            step = len(self._versions)
            k = round(self.changed * self.feeds)
            moved = set(random.Random(f"{self.seed}:{step}").sample(range(self.feeds), k))
            prev = self._versions[-1]
            self._versions.append([v + 1 if i in moved else v for i, v in enumerate(prev)])
        return self._versions[epoch]

    def body(self, i: int, version: int) -> bytes:
        cached = self._bodies.get((i, version))
        if cached is not None:
            return cached
        site = f"https://site{i % 97}.example"
        items = "".join(
            f"<item><title>Feed {i} story {k}</title>"
            f"<link>{site}/{i}/story-{k}.html</link>"
            f'<guid isPermaLink="false">bench-{i}-{k}</guid>'
            f"<pubDate>{formatdate(BASE_TIME + k * 600, usegmt=True)}</pubDate>"
            f"<description>Short summary of story {k} of feed {i}.</description></item>"
            for k in range(version + self.items - 1, version - 1, -1)
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0"><channel>'
            f"<title>Bench feed {i}</title><link>{site}/{i}/</link>"
            f"<description>Benchmark feed number {i}</description>"
            f"{items}</channel></rss>\n"
        ).encode()
        if len(self._bodies) > 50_000:
            self._bodies.clear()
        self._bodies[(i, version)] = body
        return body

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path.startswith("/feeds/") and path.endswith(".xml"):
            try:
                i = int(path[7:-4])
            except ValueError:
                i = -1
            if 0 <= i < self.feeds:
                version = self.versions(self.epoch)[i]
                etag = f'"{i}-{version}"'
                headers = {
                    "ETag": etag,
                    "Last-Modified": formatdate(BASE_TIME + version * 600, usegmt=True),
                    "Cache-Control": "max-age=60",
                }
                if request.headers.get("If-None-Match") == etag:
                    self.status[304] += 1
                    return web.Response(status=304, headers=headers)
                headers["Content-Type"] = "application/rss+xml; charset=utf-8"
                self.status[200] += 1
                return web.Response(body=self.body(i, version), headers=headers)
        elif path == "/_epoch":
            self.epoch = int(request.query["n"])
            self.versions(self.epoch)
            return web.json_response({"epoch": self.epoch})
        elif path == "/_stats":
            return web.json_response(
                {
                    "cpu_s": time.process_time(),
                    "status": {str(k): v for k, v in self.status.items()},
                }
            )
        self.status[404] += 1
        return web.Response(status=404)


async def serve(feeds: int, changed: float, items: int, seed: int) -> None:
    """Bind 127.0.0.1 on a free port, print the port, serve until SIGTERM/SIGINT."""
    feed_server = FeedServer(feeds, changed, items, seed)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    runner = web.ServerRunner(web.Server(feed_server.handle, access_log=None))
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(f"{sock.getsockname()[1]}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


class ServerProcess:
    """The feed server as a child process (`--serve`), stopped by its PID."""

    def __init__(self, feeds: int, changed: float, items: int, seed: int) -> None:
        cmd = [sys.executable, "-m", "services.devtools.benchfetcher", "--serve"]
        cmd += ["--feeds", str(feeds), "--changed", str(changed)]
        cmd += ["--items", str(items), "--seed", str(seed)]
        self.proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"feed server did not start (said {line!r})")
        self.base = f"http://127.0.0.1:{line}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Control:
    """Talks to the feed server's control endpoints (not measured)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession()

    async def set_epoch(self, n: int) -> None:
        async with self.session.get(f"{self.base}/_epoch", params={"n": str(n)}) as resp:
            resp.raise_for_status()

    async def stats(self) -> tuple[float, Counter[int]]:
        async with self.session.get(f"{self.base}/_stats") as resp:
            data = await resp.json()
        return float(data["cpu_s"]), Counter({int(k): int(v) for k, v in data["status"].items()})

    async def close(self) -> None:
        await self.session.close()


# --------------------------------------------------------------------------- clients


@dataclass
class RoundResult:
    round: int
    polls: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    status: dict[str, int]
    latency_ms: dict[str, float]
    entries: int = 0
    errors: int = 0


@dataclass
class Measurement:
    path: str  # "newswire" or "bare"
    repeat: int
    rounds: list[RoundResult] = field(default_factory=list)
    register_s: float | None = None
    connector: dict[str, int] | None = None

    def summary(self, which: slice = slice(None)) -> dict[str, float]:
        rounds = self.rounds[which]
        polls = sum(r.polls for r in rounds)
        wall = sum(r.wall_s for r in rounds)
        cpu = sum(r.cpu_s for r in rounds)
        server_cpu = sum(r.server_cpu_s for r in rounds)
        s304 = sum(r.status.get("304", 0) for r in rounds)
        return {
            "polls": polls,
            "wall_s": round(wall, 4),
            "polls_per_s": round(polls / wall, 1) if wall else 0.0,
            "cpu_ms_per_poll": round(cpu * 1000 / polls, 4) if polls else 0.0,
            "client_cpu_util": round(cpu / wall, 3) if wall else 0.0,
            "server_cpu_ms_per_poll": round(server_cpu * 1000 / polls, 4) if polls else 0.0,
            "share_304": round(s304 / polls, 4) if polls else 0.0,
            "errors": sum(r.errors for r in rounds),
            "latency_p99_ms": max((r.latency_ms["p99"] for r in rounds), default=0.0),
            "latency_max_ms": max((r.latency_ms["max"] for r in rounds), default=0.0),
        }


async def drive(
    items: Sequence[T], fn: Callable[[T], Awaitable[None]], concurrency: int
) -> list[float]:
    """Run fn over items with at most `concurrency` in flight; return each call's seconds.

    Workers share one iterator. A call's time includes any wait for a pooled
    connection, so a starved request shows up in the tail.
    """
    it: Iterator[T] = iter(items)
    seconds: list[float] = []

    async def worker() -> None:
        for item in it:
            started = time.perf_counter()
            await fn(item)
            seconds.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return seconds


def latency_ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2)}


async def timed_round(
    n: int,
    control: Control,
    run: Callable[[], Awaitable[list[float]]],
) -> RoundResult:
    await control.set_epoch(n)
    server_cpu0, status0 = await control.stats()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    seconds = await run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server_cpu1, status1 = await control.stats()
    status1.subtract(status0)
    return RoundResult(
        round=n + 1,
        polls=0,
        wall_s=wall,
        cpu_s=cpu,
        server_cpu_s=server_cpu1 - server_cpu0,
        status={str(k): v for k, v in sorted(status1.items()) if v},
        latency_ms=latency_ms(seconds),
    )


def connector_limits(session: aiohttp.ClientSession | None) -> dict[str, int] | None:
    connector = session.connector if session is not None else None
    if connector is None:
        return None
    return {"limit": connector.limit, "limit_per_host": connector.limit_per_host}


def newswire_client(settings: Settings, limit_per_host: int | None) -> HttpClient:
    """Newswire's HttpClient as is, or (for the comparison only) with another per-host limit."""
    client = HttpClient(settings)
    if limit_per_host is not None:
        session = client._get_session()
        connector = session.connector
        assert isinstance(connector, aiohttp.BaseConnector)
        connector._limit_per_host = limit_per_host
    return client


def feed_urls(base: str, feeds: int) -> list[str]:
    return [f"{base}/feeds/{i}.xml" for i in range(feeds)]


@dataclass(frozen=True)
class Setup:
    """What the measured paths share: the feed server, its feeds, how they are polled."""

    base: str
    control: Control
    feeds: int
    rounds: int
    concurrency: int
    settings: Settings

    @property
    def urls(self) -> list[str]:
        return feed_urls(self.base, self.feeds)


async def measure_rounds(
    path: str,
    setup: Setup,
    repeat: int,
    items: Sequence[T],
    one: Callable[[T], Awaitable[None]],
    tally: Counter[str],
) -> Measurement:
    """`setup.rounds` timed rounds of `one` over `items`; `one` counts "entries" and
    "errors" in `tally`."""
    result = Measurement(path, repeat)
    for n in range(setup.rounds):
        tally.clear()
        rr = await timed_round(n, setup.control, lambda: drive(items, one, setup.concurrency))
        rr.polls, rr.entries, rr.errors = len(items), tally["entries"], tally["errors"]
        result.rounds.append(rr)
    return result


async def measure_newswire(setup: Setup, *, limit_per_host: int | None, repeat: int) -> Measurement:
    table: dict[str, str] = {}
    settings = setup.settings
    urls = setup.urls
    t0 = time.perf_counter()
    for url in urls:
        register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    register_s = round(time.perf_counter() - t0, 4)
    client = newswire_client(settings, limit_per_host)
    tally: Counter[str] = Counter()
    counted = {ENTRIES.name: "entries", DLQ.name: "errors"}

    async def one(url: str) -> None:
        # The scheduler's command, as it would arrive from newswire.feed-polls: made per
        # poll, since a command older than the feed's last poll is skipped as a copy.
        raw = encode(FeedPoll(url=url, partition=0))
        outputs: list[Output] = await poll_feed(
            raw, table=table, client=client, config=config_from(settings)
        )
        for out in outputs:
            tally[counted.get(out.topic, out.topic)] += 1

    try:
        result = await measure_rounds("newswire", setup, repeat, urls, one, tally)
        result.register_s = register_s
        result.connector = connector_limits(client._session)
    finally:
        await client.close()
    return result


async def measure_bare(
    setup: Setup,
    *,
    limit_per_host: int,
    repeat: int,
    path: str = "bare",
    on_200: Callable[[str, bytes, Counter[str]], None] | None = None,
) -> Measurement:
    """The same conditional GETs through a plain aiohttp session, reading the body and
    keeping the validators; `on_200` is what else is done with a 200's body."""
    validators: dict[str, tuple[str | None, str | None]] = {}
    settings = setup.settings
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=setup.concurrency, limit_per_host=limit_per_host),
        timeout=aiohttp.ClientTimeout(
            total=settings.fetcher.total_timeout,
            sock_connect=settings.fetcher.connect_timeout,
            sock_read=settings.fetcher.read_timeout,
        ),
        headers={"User-Agent": settings.fetcher.user_agent},
    )
    tally: Counter[str] = Counter()

    async def one(url: str) -> None:
        headers = {"Accept": ACCEPT_FEED}
        etag, last_modified = validators.get(url, (None, None))
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                body = await resp.read()
                if resp.status != 200:
                    return
                validators[url] = (resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
        except (aiohttp.ClientError, TimeoutError, OSError):
            tally["errors"] += 1
            return
        if on_200 is not None:
            on_200(url, body, tally)

    try:
        result = await measure_rounds(path, setup, repeat, setup.urls, one, tally)
        result.connector = connector_limits(session)
    finally:
        await session.close()
    return result


async def measure_poller(setup: Setup, *, limit_per_host: int, repeat: int) -> Measurement:
    """The bare loop, plus what a user's own poller does with a 200: feedparser over the
    body and a set of entry ids seen."""
    import feedparser

    seen: set[str] = set()

    def parse(url: str, body: bytes, tally: Counter[str]) -> None:
        for entry in feedparser.parse(body).entries:
            key = f"{url} {entry.get('id') or entry.get('link')}"
            if key not in seen:
                seen.add(key)
                tally["entries"] += 1

    return await measure_bare(
        setup, limit_per_host=limit_per_host, repeat=repeat, path="poller", on_200=parse
    )


async def measure_http_layer(
    setup: Setup, *, limit_per_host: int | None, repeat: int
) -> Measurement:
    """The bare loop's requests through Newswire's HttpClient alone (SSRF guard, body cap,
    metrics; no parsing, no state): splits the newswire path's cost in two."""
    validators: dict[str, tuple[str | None, str | None]] = {}
    client = newswire_client(setup.settings, limit_per_host)
    tally: Counter[str] = Counter()

    async def one(url: str) -> None:
        etag, last_modified = validators.get(url, (None, None))
        try:
            resp = await client.get(url, kind="feed", etag=etag, last_modified=last_modified)
        except NewswireError:
            tally["errors"] += 1
            return
        if resp.status == 200:
            validators[url] = (resp.headers.get("etag"), resp.headers.get("last-modified"))

    try:
        return await measure_rounds("http_layer", setup, repeat, setup.urls, one, tally)
    finally:
        await client.close()


# --------------------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4) if values else 0.0


def aggregate(runs: list[Measurement], which: slice = slice(None)) -> dict[str, Any]:
    sums = [m.summary(which) for m in runs]
    keys = [
        "polls_per_s",
        "cpu_ms_per_poll",
        "client_cpu_util",
        "server_cpu_ms_per_poll",
        "share_304",
        "latency_p99_ms",
        "latency_max_ms",
    ]
    out: dict[str, Any] = {k: _median([float(s[k]) for s in sums]) for k in keys}
    out["runs_polls_per_s"] = [s["polls_per_s"] for s in sums]
    out["errors"] = int(sum(s["errors"] for s in sums))
    return out


def profile_text(prof: cProfile.Profile, sort: str, limit: int) -> list[str]:
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    return [line.rstrip() for line in buf.getvalue().splitlines() if line.strip()]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(allow_private_networks=True)
    server = ServerProcess(args.feeds, args.changed, args.items, args.seed)
    control = Control(server.base)
    setup = Setup(
        server.base,
        control,
        args.feeds,
        args.rounds,
        args.concurrency,
        settings,
    )
    newswire: list[Measurement] = []
    bare: list[Measurement] = []
    layer: list[Measurement] = []
    poller: list[Measurement] = []
    profile: dict[str, Any] | None = None
    load_before = os.getloadavg()
    try:
        for rep in range(args.repeats):
            # A B C, then C B A: drift on a shared machine hits the paths alike.
            order = ("newswire", "bare", "poller", "http_layer")
            for path in order if rep % 2 == 0 else reversed(order):
                if path == "http_layer":
                    m = await measure_http_layer(
                        setup, limit_per_host=args.limit_per_host, repeat=rep
                    )
                    layer.append(m)
                elif path == "poller":
                    m = await measure_poller(
                        setup, limit_per_host=args.bare_limit_per_host, repeat=rep
                    )
                    poller.append(m)
                elif path == "newswire":
                    m = await measure_newswire(
                        setup, limit_per_host=args.limit_per_host, repeat=rep
                    )
                    newswire.append(m)
                else:
                    m = await measure_bare(
                        setup, limit_per_host=args.bare_limit_per_host, repeat=rep
                    )
                    bare.append(m)
                s = m.summary()
                _progress(
                    f"[{rep + 1}/{args.repeats}] {path:8s} {s['polls_per_s']:8.1f} polls/s  "
                    f"{s['cpu_ms_per_poll']:.3f} cpu ms/poll  304 share {s['share_304']:.2f}  "
                    f"errors {s['errors']}  p99 {s['latency_p99_ms']:.0f} ms  "
                    f"max {s['latency_max_ms']:.0f} ms  per round "
                    + " ".join(f"{r.polls / r.wall_s:.0f}" for r in m.rounds)
                )
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            profiled = await measure_newswire(setup, limit_per_host=args.limit_per_host, repeat=-1)
            prof.disable()
            Path(args.profile).parent.mkdir(parents=True, exist_ok=True)
            prof.dump_stats(args.profile)
            profile = {
                "file": str(args.profile),
                "note": "cProfile slows the client several times; figures are not comparable",
                "summary": profiled.summary(),
                "tottime": profile_text(prof, "tottime", args.profile_top),
                "cumulative": profile_text(prof, "cumulative", args.profile_top),
            }
            _progress(f"profile of one newswire measurement written to {args.profile}")
    finally:
        await control.close()
        server.stop()

    nw, br, hl = aggregate(newswire), aggregate(bare), aggregate(layer)
    pl = aggregate(poller)
    vs_poller = round(nw["polls_per_s"] / pl["polls_per_s"], 3) if pl["polls_per_s"] else 0.0
    layer_ratio = round(hl["polls_per_s"] / br["polls_per_s"], 3) if br["polls_per_s"] else 0.0
    warm = slice(1, None)
    nw_warm, br_warm = aggregate(newswire, warm), aggregate(bare, warm)
    nw_cold, br_cold = aggregate(newswire, slice(0, 1)), aggregate(bare, slice(0, 1))
    paired = [
        round(a.summary()["polls_per_s"] / b.summary()["polls_per_s"], 3)
        for a, b in zip(newswire, bare, strict=True)
    ]
    ratio = round(nw["polls_per_s"] / br["polls_per_s"], 3) if br["polls_per_s"] else 0.0
    headline: dict[str, Any] = {
        "polls_per_s": nw["polls_per_s"],
        "bare_polls_per_s": br["polls_per_s"],
        "ratio": ratio,
        "cpu_ms_per_poll": nw["cpu_ms_per_poll"],
        "bare_cpu_ms_per_poll": br["cpu_ms_per_poll"],
        "poller_polls_per_s": pl["polls_per_s"],
        "poller_cpu_ms_per_poll": pl["cpu_ms_per_poll"],
        "vs_poller": vs_poller,
        "http_layer_polls_per_s": hl["polls_per_s"],
        "http_layer_ratio": layer_ratio,
        # Less noisy than `ratio` on a shared machine when both clients are CPU-bound.
        "cpu_ratio": (
            round(br["cpu_ms_per_poll"] / nw["cpu_ms_per_poll"], 3)
            if nw["cpu_ms_per_poll"]
            else None
        ),
        "feeds": args.feeds,
        "share_304": nw["share_304"],
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "limit_per_host": (newswire[0].connector or {}).get("limit_per_host"),
        "warm_polls_per_s": nw_warm["polls_per_s"],
        "warm_bare_polls_per_s": br_warm["polls_per_s"],
        "warm_ratio": (
            round(nw_warm["polls_per_s"] / br_warm["polls_per_s"], 3)
            if br_warm["polls_per_s"]
            else None
        ),
        # Where the gap is: the HTTP layer alone against the bare loop, and what the
        # feed work (parsing, state, scheduling, records) adds on top of that layer.
        "http_layer_cpu_ms_per_poll": hl["cpu_ms_per_poll"],
        "http_layer_cpu_ratio": (
            round(br["cpu_ms_per_poll"] / hl["cpu_ms_per_poll"], 3)
            if hl["cpu_ms_per_poll"]
            else None
        ),
        "feed_work_cpu_ms_per_poll": round(nw["cpu_ms_per_poll"] - hl["cpu_ms_per_poll"], 4),
        "errors": nw["errors"] + br["errors"] + hl["errors"],
        "latency_p99_ms": nw["latency_p99_ms"],
        "bare_latency_p99_ms": br["latency_p99_ms"],
    }
    return {
        "headline": headline,
        "targets": {
            "polls_per_s": TARGET_POLLS_PER_S,
            "vs_poller": TARGET_VS_POLLER,
            "http_layer_ratio": TARGET_HTTP_LAYER_RATIO,
            "polls_per_s_met": nw["polls_per_s"] >= TARGET_POLLS_PER_S,
            "vs_poller_met": vs_poller >= TARGET_VS_POLLER,
            "http_layer_ratio_met": layer_ratio >= TARGET_HTTP_LAYER_RATIO,
        },
        "config": {
            "feeds": args.feeds,
            "rounds": args.rounds,
            "repeats": args.repeats,
            "concurrency": args.concurrency,
            "changed_share": args.changed,
            "items_per_feed": args.items,
            "seed": args.seed,
            "newswire_limit_per_host": (
                "as in services/fetcher/net/http.py"
                if args.limit_per_host is None
                else args.limit_per_host
            ),
            "bare_limit_per_host": args.bare_limit_per_host,
        },
        "newswire": {"all": nw, "round1": nw_cold, "later_rounds": nw_warm},
        "bare": {"all": br, "round1": br_cold, "later_rounds": br_warm},
        "poller": {"all": pl, "round1": aggregate(poller, slice(0, 1))},
        "http_layer": {
            "all": hl,
            "round1": aggregate(layer, slice(0, 1)),
            "later_rounds": aggregate(layer, warm),
        },
        "paired_ratios": paired,
        "runs": [asdict(m) for m in (newswire + bare + poller + layer)],
        "profile": profile,
        "environment": {
            "python": platform.python_version(),
            "aiohttp": aiohttp.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
    }


def _progress(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="benchfetcher", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--out", type=Path, default=Path("results/bench-fetcher.json"))
    p.add_argument("--feeds", type=int, default=10_000, help="distinct feeds (default 10000)")
    p.add_argument("--rounds", type=int, default=3, help="polls of every feed per measurement")
    p.add_argument("--repeats", type=int, default=3, help="measurements per path, interleaved")
    p.add_argument("--concurrency", type=int, default=64, help="polls in flight (both paths)")
    p.add_argument(
        "--changed", type=float, default=0.1, help="share of feeds that change between rounds"
    )
    p.add_argument("--items", type=int, default=3, help="items per feed document")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--limit-per-host",
        type=int,
        default=None,
        help="override HttpClient's connector limit_per_host (0 = none); default: as is",
    )
    p.add_argument(
        "--bare-limit-per-host",
        type=int,
        default=0,
        help="the bare loop's limit_per_host (default 0: only --concurrency bounds it)",
    )
    p.add_argument("--profile", type=Path, default=None, help="cProfile one more newswire run")
    p.add_argument("--profile-top", type=int, default=30)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.feeds < 1 or args.rounds < 1 or args.repeats < 1 or args.concurrency < 1:
        p.error("--feeds, --rounds, --repeats and --concurrency must be at least 1")
    if not 0.0 <= args.changed <= 1.0:
        p.error("--changed is a share between 0 and 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.feeds, args.changed, args.items, args.seed))
        return 0
    results = asyncio.run(bench(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    _progress(f"results written to {args.out}")
    sys.stdout.write(json.dumps(results["headline"]) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
