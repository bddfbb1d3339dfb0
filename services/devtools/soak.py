"""Soak and burst: the four services at a steady rate for a long while, then a burst.

    python -m services.devtools.soak --datasets ../shared/datasets [--minutes 30]
        [--rate 2] [--burst 10000] [--out results/soak.json]

Soak: loopback hosts whose RSS feeds publish `--rate` new articles a second in all
(the dataset pages again and again under new URLs), polled by the fetcher like any
site. Every `--sample-seconds` each process's resident memory (with its children:
the cleaner's worker pool), open files (/proc/<pid>/fd) and asyncio tasks (the
service's `newswire_asyncio_tasks`) are sampled; each is reported as start (the first
sample after a warm-up), peak and end, with its growth per hour over the steady part.
Burst: `--burst` page records straight onto newswire.pages at once, then the clock
runs until every one is on newswire.stories or newswire.dlq; peak memory meanwhile.

The last line of stdout is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.common.kafka import ensure_topics, producer
from services.common.models import Entry, Page, encode
from services.common.settings import PROJECT_ROOT, Settings
from services.common.urls import article_id
from services.devtools import corpus, harness
from services.devtools.broker import start_broker
from services.devtools.corpus import Doc, Resolver
from services.devtools.stack import SERVICES, Stack

log = logging.getLogger("soak")

FEED_ITEMS = 50
WARM_UP_SHARE = 0.2
# Growth below this share of the start (or this many units, whichever is larger) over
# the steady part is called flat; more is worth a look.
FLAT_SHARE = 0.10
FLAT_FLOOR = {"rss_mb": 32.0, "open_files": 8.0, "asyncio_tasks": 20.0}


# ---------------------------------------------------------------- series (pure)


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in points) / var * 3600.0


def summarize_series(points: list[tuple[float, float]], warm_up_s: float) -> dict[str, Any]:
    """Start (first point after the warm-up), peak, end and growth of one series."""
    steady = [(t, v) for t, v in points if t >= warm_up_s] or points
    if not steady:
        return {"samples": 0}
    start, end = steady[0][1], steady[-1][1]
    return {
        "start": round(start, 1),
        "peak": round(max(v for _, v in points), 1),
        "end": round(end, 1),
        "growth_per_hour": round(slope_per_hour(steady), 2),
        "samples": len(points),
    }


def is_flat(summary: dict[str, Any], metric: str) -> bool:
    if not summary.get("samples"):
        return False
    allowed = max(FLAT_SHARE * abs(summary["start"]), FLAT_FLOOR[metric])
    return bool(summary["end"] - summary["start"] <= allowed)


# ---------------------------------------------------------------- the live site


@dataclass
class LiveSite:
    """Feeds that publish `rate` items a second in all, round-robin over the hosts."""

    docs: list[Doc]
    hosts: list[str]
    port: int
    rate: float
    started: float = field(default_factory=time.monotonic)
    started_wall: datetime = field(default_factory=lambda: datetime.now(UTC))
    stopped_at: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def released(self) -> int:
        with self._lock:
            if self.stopped_at is not None:
                return self.stopped_at
            return int((time.monotonic() - self.started) * self.rate)

    def stop_publishing(self) -> int:
        count = self.released()
        with self._lock:
            self.stopped_at = count
        return count

    def url(self, k: int) -> str:
        return f"http://{self.hosts[k % len(self.hosts)]}:{self.port}/live/{k:07d}.html"

    def ids(self, upto: int) -> set[str]:
        return {article_id(self.url(k)) for k in range(upto)}

    def resolver(self) -> Resolver:
        index = {h: i for i, h in enumerate(self.hosts)}

        def resolve(host: str, path: str) -> tuple[bytes, str] | None:
            if path == "/robots.txt":
                return corpus.ROBOTS, "text/plain; charset=utf-8"
            if host not in index:
                return None
            if path == corpus.feed_path():
                return self._feed(index[host]), corpus.RSS_TYPE
            if path.startswith("/live/") and path.endswith(".html"):
                k = int(path[6:-5])
                if k < self.released() and k % len(self.hosts) == index[host]:
                    return self.docs[k % len(self.docs)].html, corpus.HTML_TYPE
            return None

        return resolve

    def _feed(self, h: int) -> bytes:
        n = len(self.hosts)
        upto = self.released()
        last = upto - 1 - ((upto - 1 - h) % n) if upto > h else -1
        ks = list(range(last, -1, -n))[:FEED_ITEMS]
        items = [
            corpus.SitePage(
                host=self.hosts[h],
                path=f"/live/{k:07d}.html",
                body=b"",
                title=self.docs[k % len(self.docs)].title or f"Story {k}",
                # Each item keeps the moment it was published, poll after poll.
                published=self.started_wall + timedelta(seconds=k / self.rate),
                kind="original",
                doc=self.docs[k % len(self.docs)].key,
            )
            for k in ks
        ]
        return corpus.rss(f"Live {self.hosts[h]}", f"http://{self.hosts[h]}", items, self.port)


# ---------------------------------------------------------------- sampling


@dataclass
class Sampler:
    stack: Stack
    t0: float = field(default_factory=time.monotonic)
    series: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    stalls: dict[str, int] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        out = {n: p.popen.pid for n, p in self.stack.procs.items() if n in SERVICES}
        if self.stack.broker is not None:
            out["broker"] = self.stack.broker.pid
        return out

    def sample(self) -> None:
        t = time.monotonic() - self.t0
        for name, pid in self.pids().items():
            row = self.series.setdefault(
                name, {"rss_mb": [], "open_files": [], "asyncio_tasks": []}
            )
            rss = harness.tree_rss_kb(pid)
            if not rss:
                continue
            row["rss_mb"].append((t, rss / 1024))
            row["open_files"].append((t, float(harness.open_files(pid))))
            if name in SERVICES:
                text = harness.scrape(self.stack.metrics_url(name))
                tasks = harness.metric_value(text or "", "newswire_asyncio_tasks")
                if tasks is not None and tasks == tasks:  # NaN: scraped off the loop
                    row["asyncio_tasks"].append((t, tasks))
                stalls = harness.metric_value(text or "", "newswire_consumer_stalls_total")
                if stalls:  # a counter: the last scrape holds them all (per process life)
                    self.stalls[name] = max(self.stalls.get(name, 0), int(stalls))

    def report(self, warm_up_s: float) -> dict[str, dict[str, Any]]:
        return {
            name: {metric: summarize_series(pts, warm_up_s) for metric, pts in row.items() if pts}
            for name, row in self.series.items()
        }

    def peak_rss_mb(self, since: float) -> dict[str, float]:
        return {
            name: round(max((v for t, v in row["rss_mb"] if t >= since), default=0.0), 1)
            for name, row in self.series.items()
        }


# ---------------------------------------------------------------- burst


def burst_url(k: int, tag: str) -> str:
    return f"http://burst-{k % 50}.example/{tag}/{k:06d}.html"


def burst_pages(docs: list[Doc], n: int, tag: str) -> Iterator[tuple[str, bytes]]:
    """(article id, encoded page record) for n pages cycling through the corpus."""
    for k in range(n):
        doc = docs[k % len(docs)]
        url = burst_url(k, tag)
        entry = Entry(entry_id=url, feed_url=f"http://burst-{k % 50}.example/feed.xml", link=url)
        html = doc.html.decode("utf-8", "replace")
        aid = article_id(url)
        yield aid, encode(Page.direct(aid, entry, html, "text/html; charset=utf-8"))


async def produce_burst(settings: Settings, records: Iterator[tuple[str, bytes]]) -> int:
    prod = producer(settings, linger_ms=50)
    await prod.start()
    sent = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for aid, value in records:
            pending.append(await prod.send(harness.PAGES, key=aid.encode(), value=value))
            sent += 1
            if len(pending) >= 500:  # bounded: the burst is not held in memory at once
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await prod.stop()
    return sent


# ---------------------------------------------------------------- main


def wait_out(
    watch: harness.TopicWatch,
    ids: set[str],
    sampler: Sampler,
    stack: Stack,
    timeout: float,
    every: float,
    exits: list[dict[str, Any]],
    restarts: list[dict[str, Any]] | None = None,
    unhealthy: dict[str, int] | None = None,
) -> bool:
    deadline = time.monotonic() + timeout
    last_sample = last_note = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - last_sample >= every:
            last_sample = time.monotonic()
            sampler.sample()
            note_exits(stack, exits, restarts, unhealthy)
        if len(watch.done_ids() & ids) >= len(ids):
            return True
        if time.monotonic() - last_note > 60:
            last_note = time.monotonic()
            log.info("%d/%d out", len(watch.done_ids() & ids), len(ids))
        time.sleep(1.0)
    return False


#: Liveness failures in a row (one per sample) before the harness restarts a service, as
#: an orchestrator's liveness probe would (the Helm chart's failureThreshold).
LIVENESS_FAILURES = 3


def note_exits(
    stack: Stack,
    exits: list[dict[str, Any]],
    restarts: list[dict[str, Any]] | None = None,
    unhealthy: dict[str, int] | None = None,
) -> None:
    """A service that died is a finding: recorded and started again. One whose /healthz
    fails LIVENESS_FAILURES samples running (a consumer stall it could not repair) is
    stopped and started again, as a liveness probe would, and recorded in `restarts`."""
    for name in SERVICES:
        proc = stack.procs.get(name)
        if proc is not None and not proc.alive():
            exits.append({"service": name, "code": proc.popen.returncode})
            stack.procs.pop(name)
            stack.start_service(name, SERVICE_ENV)
        elif proc is not None and restarts is not None and unhealthy is not None:
            unhealthy[name] = 0 if proc.healthy() else unhealthy.get(name, 0) + 1
            if unhealthy[name] >= LIVENESS_FAILURES:
                log.warning("%s failed /healthz %d times: restarting it", name, unhealthy[name])
                code = stack.stop_service(name, signal.SIGTERM, timeout=60)
                restarts.append({"service": name, "stop_code": code})
                unhealthy[name] = 0
                stack.start_service(name, SERVICE_ENV)


SERVICE_ENV: dict[str, str] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=PROJECT_ROOT.parent / "shared/datasets")
    parser.add_argument("--out", type=Path, default=Path("results/soak.json"))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2.0, help="articles/s offered")
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=1800.0)
    parser.add_argument("--burst-timeout", type=float, default=3 * 3600.0)
    parser.add_argument("--keep", action="store_true", help="keep the service logs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s soak %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    docs = corpus.load_docs(args.datasets)
    hosts = [corpus.host_name(i) for i in range(args.hosts)]
    port = corpus.free_common_port(hosts)
    work = Path(tempfile.mkdtemp(prefix="newswire-soak-"))
    feeds_file = work / "feeds.yaml"
    feeds_file.write_text(corpus.feeds_yaml(hosts, port))
    SERVICE_ENV.update(
        {
            "NEWSWIRE_FEEDS_FILE": str(feeds_file),
            "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "true",
            "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0.1",
            "NEWSWIRE_POLL_MIN_INTERVAL_SECONDS": "5",
            "NEWSWIRE_POLL_MAX_INTERVAL_SECONDS": "30",
        }
    )
    broker = start_broker()
    settings = Settings(kafka_bootstrap=broker.bootstrap)
    asyncio.run(ensure_topics(settings))
    stack = Stack(broker.bootstrap, "http://127.0.0.1:9", work, broker=broker)
    known: set[str] = set()
    watch = harness.TopicWatch(
        settings, known, read_committed=False, topics=(harness.STORIES, harness.DLQ)
    )
    exits: list[dict[str, Any]] = []
    restarts: list[dict[str, Any]] = []
    unhealthy: dict[str, int] = {}
    site: corpus.SiteServer | None = None
    head = harness.head_commit()
    try:
        for name in SERVICES:
            stack.start_service(name, SERVICE_ENV)
        sampler = Sampler(stack)
        watch.start()
        live = LiveSite(docs, hosts, port, args.rate)
        site = corpus.SiteServer(hosts, port, live.resolver()).start()
        live.started = sampler.t0 = time.monotonic()
        live.started_wall = datetime.now(UTC)
        soak_s = args.minutes * 60
        log.info(
            "soak: %.1f articles/s for %.0f min on %d hosts", args.rate, args.minutes, len(hosts)
        )
        last_note = 0.0
        while time.monotonic() - sampler.t0 < soak_s:
            sampler.sample()
            note_exits(stack, exits, restarts, unhealthy)
            if time.monotonic() - last_note > 60:
                last_note = time.monotonic()
                log.info("offered %d, out %d", live.released(), len(watch.done_ids()))
            time.sleep(args.sample_seconds)
        offered = live.stop_publishing()
        soak_ids = live.ids(offered)
        known |= soak_ids
        drained = wait_out(
            watch,
            soak_ids,
            sampler,
            stack,
            args.drain_timeout,
            args.sample_seconds,
            exits,
            restarts,
            unhealthy,
        )
        soak_end = time.monotonic() - sampler.t0
        soak_out = len(watch.done_ids() & soak_ids)
        log.info("soak: %d offered, %d out (drained=%s)", offered, soak_out, drained)

        burst_began = time.monotonic()
        burst_t = burst_began - sampler.t0
        tag = f"b{int(time.time())}"
        burst_ids = {article_id(burst_url(k, tag)) for k in range(args.burst)}
        known |= burst_ids
        sent = asyncio.run(produce_burst(settings, burst_pages(docs, args.burst, tag)))
        produced_s = time.monotonic() - burst_began
        burst_done = wait_out(
            watch,
            burst_ids,
            sampler,
            stack,
            args.burst_timeout,
            args.sample_seconds,
            exits,
            restarts,
            unhealthy,
        )
        burst_s = time.monotonic() - burst_began
        burst_out = len(watch.done_ids() & burst_ids)
        series = sampler.report(soak_s * WARM_UP_SHARE)
        soak_only = Sampler(stack)
        soak_only.series = {
            n: {m: [(t, v) for t, v in pts if t <= soak_end] for m, pts in row.items()}
            for n, row in sampler.series.items()
        }
        soak_series = soak_only.report(soak_s * WARM_UP_SHARE)
        burst_peak = sampler.peak_rss_mb(burst_t)
        final_exits = {n: stack.stop_service(n, signal.SIGTERM, timeout=60) for n in SERVICES}
    finally:
        watch.stop()
        if site is not None:
            site.stop()
        stack.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log.info("service logs kept in %s", work)
        shutil.rmtree(broker.workdir, ignore_errors=True)
    flat = {
        name: {m: is_flat(s, m) for m, s in row.items() if m in FLAT_FLOOR}
        for name, row in soak_series.items()
        if name in SERVICES
    }
    headline = {
        "soak_minutes": args.minutes,
        "offered": offered,
        "soak_out": soak_out,
        "soak_all_out": soak_out == offered,
        "flat": all(all(v.values()) for v in flat.values()),
        "rss_mb": {n: row.get("rss_mb") for n, row in soak_series.items()},
        "burst": sent,
        "burst_out": burst_out,
        "burst_all_out": burst_done,
        "burst_seconds": round(burst_s, 1),
        "burst_produce_seconds": round(produced_s, 1),
        "burst_peak_rss_mb": burst_peak,
        "unexpected_exits": exits,
        # Restarts for a failed /healthz, as a liveness probe would make them.
        "liveness_restarts": restarts,
        # Partitions the services' stall watch found stalled and read again (see
        # services/common/stallwatch.py): the burst's enricher stall, caught in-process.
        "consumer_stalls": sampler.stalls,
        "commit": head,
    }
    report = {
        "headline": headline,
        "soak": soak_series,
        "flat": flat,
        "whole_run": series,
        "final_stop_exit_codes": final_exits,
        "settings": {"rate": args.rate, "hosts": len(hosts), "sample_seconds": args.sample_seconds},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(headline))
    return 0 if soak_out == offered and burst_done and not exits else 1


if __name__ == "__main__":
    raise SystemExit(main())
