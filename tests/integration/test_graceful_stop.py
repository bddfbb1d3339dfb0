"""SIGTERM during ingestion: a service stops with exit code 0 and, restarted, redoes at
most what was in flight (issue 13: one SIGTERM made the fetcher fetch a quarter of the
corpus again, because its committed offsets lagged far behind its pages).

Real broker, real service processes, real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from services.common.kafka import consumer, producer
from services.common.models import Entry, Page, encode
from services.common.settings import Settings
from services.common.topicread import read_topic
from services.common.topics import ARTICLES, DLQ, PAGES
from services.common.urls import article_id
from services.devtools.stack import Stack
from tests.conftest import serve_locally

N_HOSTS = 8
PER_FEED = 40
N_PAGES = N_HOSTS * PER_FEED
PAGE_CONCURRENCY = 4
WAIT_S = 300.0


class Site:
    """N_HOSTS servers on 127.0.0.1 (a host is host:port to the fetcher), each with one
    feed whose entries link to every host in turn, so each entries partition interleaves
    hosts of different speeds: a fast host's pages finish behind a slow host's."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.bases: list[str] = []
        self.served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runners: list[web.AppRunner] = []

    def feed_url(self, host: int) -> str:
        return f"{self.bases[host]}/{self.run}/feed.xml"

    def link(self, feed: int, item: int) -> str:
        host = (feed + item) % N_HOSTS
        return f"{self.bases[host]}/{self.run}/a/{feed}-{item}.html"

    def _app(self, host: int) -> web.Application:
        async def feed(request: web.Request) -> web.Response:
            items = "".join(
                f"<item><title>Story {host}-{j}</title><link>{self.link(host, j)}</link>"
                f"<guid>{self.run}-{host}-{j}</guid></item>"
                for j in range(PER_FEED)
            )
            body = (
                '<?xml version="1.0"?><rss version="2.0">'
                f"<channel><title>F{host}</title>{items}</channel></rss>"
            )
            return web.Response(text=body, content_type="application/rss+xml")

        async def article(request: web.Request) -> web.Response:
            # Hosts of different speeds, so pages finish out of the order they were read.
            await asyncio.sleep(0.03 * (host + 1))
            with self._lock:
                self.served[request.match_info["name"]] += 1
            name = request.match_info["name"]
            return web.Response(
                text=f"<html><body><h1>Story {name}</h1><p>Body of {name}.</p></body></html>",
                content_type="text/html",
            )

        app = web.Application()
        app.router.add_get(f"/{self.run}/feed.xml", feed)
        app.router.add_get(f"/{self.run}/a/{{name}}", article)
        return app

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            for host in range(N_HOSTS):
                runner, base = await serve_locally(self._app(host))
                self._runners.append(runner)
                self.bases.append(base)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(30)

    def stop(self) -> None:
        async def cleanup() -> None:
            for runner in self._runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def pages_served(self) -> int:
        with self._lock:
            return len(self.served)

    def served_twice(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.served.values())

    def names_served_twice(self) -> list[str]:
        with self._lock:
            return sorted(name for name, n in self.served.items() if n > 1)


def wait_until(check: Callable[[], bool], what: Callable[[], str], stack: Stack) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        dead = [n for n, p in stack.procs.items() if not p.alive()]
        assert not dead, f"services died: {dead}; logs in {stack.run_dir}"
        time.sleep(0.05)
    pytest.fail(f"timed out: {what()}; logs in {stack.run_dir}")


def records_out(port: int | None, stage: str) -> float:
    name = f'newswire_records_out_total{{stage="{stage}"}}'
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
    except OSError:  # not serving yet
        pass
    return 0.0


def keys_on(settings: Settings, topic: str, prefix: str) -> Counter[str]:
    records = asyncio.run(read_topic(settings, topic, timeout=3.0))
    keys = (r["key"] for r in records)
    return Counter(k for k in keys if isinstance(k, str) and k.startswith(prefix))


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site(uuid.uuid4().hex[:8])
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_fetcher_sigterm_redoes_only_what_was_in_flight(
    site: Site, stack: Stack, kafka_settings: Settings
) -> None:
    feeds = stack.run_dir / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - {site.feed_url(h)}\n" for h in range(N_HOSTS)))
    env = {
        "NEWSWIRE_FEEDS_FILE": str(feeds),
        "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0",
        "NEWSWIRE_PAGE_CONCURRENCY": str(PAGE_CONCURRENCY),
    }
    stack.start_service("fetcher", env)
    # Part-way: a third of the pages out, so most of the corpus is read and in the lanes.
    wait_until(
        lambda: site.pages_served() >= N_PAGES // 3,
        lambda: f"{site.pages_served()} pages served",
        stack,
    )
    code = stack.stop_service("fetcher", sig=signal.SIGTERM, timeout=120)
    assert code == 0, f"exit code {code}; log in {stack.run_dir}"
    before_restart = site.pages_served()
    assert before_restart < N_PAGES, "the stop landed after the end: nothing to measure"

    stack.start_service("fetcher", env)
    wait_until(
        lambda: site.pages_served() == N_PAGES,
        lambda: f"{site.pages_served()} of {N_PAGES} pages served",
        stack,
    )
    ids = {article_id(site.link(h, j)) for h in range(N_HOSTS) for j in range(PER_FEED)}

    def all_out() -> bool:
        on_topic = keys_on(kafka_settings, PAGES.name, "")
        return ids <= set(on_topic)

    wait_until(all_out, lambda: "every page on newswire.pages", stack)
    pages = keys_on(kafka_settings, PAGES.name, "")
    duplicates = sum(pages[i] - 1 for i in ids)
    refetched = site.served_twice()
    print(
        f"fetcher: {before_restart} pages served before SIGTERM, {refetched} fetched twice, "
        f"{duplicates} extra records on {PAGES.name} {site.names_served_twice()}"
    )
    # A request cut off by the stop (the HTTP client closed under it) would be a dead
    # letter: lost, not redone.
    hosts = {base.removeprefix("http://") for base in site.bases}
    dead = [
        r
        for r in asyncio.run(read_topic(kafka_settings, DLQ.name, timeout=3.0))
        if r["key"] in hosts
    ]
    assert not dead, f"pages dead-lettered: {[r['value'].get('error') for r in dead]}"
    # Issue 13's target: at most 1% redone. The pages in flight finish before the commit
    # and those done past the commit point are noted in it, so none should be. The 3-4
    # measured here before were the restarted worker reading the last record of each
    # partition twice after recovery's seek back (fixed in services.common.runtime); 0 of 320 in 19
    # runs since (38 and 54 before the graceful stop).
    bound = N_PAGES // 100
    assert refetched <= bound, f"{refetched} pages fetched twice (bound {bound})"
    assert duplicates <= bound, f"{duplicates} pages sent twice (bound {bound})"


def _pages(run: str, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        link = f"http://{run}-{i % 7}.example/story/{i}.html"
        entry = Entry(entry_id=f"{run}-{i}", feed_url=f"http://{run}.example/feed", link=link)
        body = (
            f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
            + "".join(
                f"<p>Paragraph {k} of story {i} from run {run}: the council met on day {i} "
                f"and voted {k} times on item {i * 31 + k}, officials said.</p>"
                for k in range(6)
            )
            + "</article></body></html>"
        )
        page = Page.direct(f"{run}-{i}", entry, body, "text/html")
        out.append((page.article_id, encode(page)))
    return out


async def _produce(settings: Settings, records: list[tuple[str, bytes]]) -> None:
    prod: AIOKafkaProducer = producer(settings)
    await prod.start()
    try:
        futures = [await prod.send(PAGES.name, value=v, key=k.encode()) for k, v in records]
        await asyncio.gather(*futures)
    finally:
        await prod.stop()


class Tail:
    """Counts, as they arrive, the records keyed with `prefix` on `topics` (from their
    ends when started): an event to wait for that costs no re-read of whole topics."""

    def __init__(self, settings: Settings, topics: list[str], prefix: str) -> None:
        self.settings = settings
        self.topics = topics
        self.prefix = prefix
        self.keys: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        from aiokafka import TopicPartition

        cons = consumer(self.settings, group_id=None, enable_auto_commit=False)
        await cons.start()
        try:
            tps = []
            for topic in self.topics:
                await cons._client.force_metadata_update()
                tps += [TopicPartition(topic, p) for p in cons.partitions_for_topic(topic) or ()]
            cons.assign(tps)
            await cons.seek_to_end(*tps)
            for tp in tps:
                await cons.position(tp)
            self._started.set()
            while not self._stop.is_set():
                batch = await cons.getmany(timeout_ms=200)
                with self._lock:
                    for records in batch.values():
                        for rec in records:
                            key = (rec.key or b"").decode("utf-8", "replace")
                            if key.startswith(self.prefix):
                                self.keys[key] += 1
        finally:
            await cons.stop()

    def __enter__(self) -> Tail:
        self._thread.start()
        assert self._started.wait(60), "tail did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def distinct(self) -> int:
        with self._lock:
            return len(self.keys)

    def extra(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.keys.values())


def test_cleaner_sigterm_redoes_only_what_was_in_flight(
    stack: Stack, kafka_settings: Settings
) -> None:
    run = uuid.uuid4().hex[:8]
    n = 400
    with Tail(kafka_settings, [ARTICLES.name, DLQ.name], run) as tail:
        asyncio.run(_produce(kafka_settings, _pages(run, n)))
        stack.start_service("cleaner")
        # Part-way through this run's pages (earlier tests may have left pages before them).
        wait_until(lambda: tail.distinct() >= n // 4, lambda: f"{tail.distinct()} out", stack)
        code = stack.stop_service("cleaner", sig=signal.SIGTERM, timeout=120)
        assert code == 0, f"exit code {code}; log in {stack.run_dir}"
        first = tail.distinct()
        assert first < n, "the stop landed after the end: nothing to measure"

        stack.start_service("cleaner")
        wait_until(lambda: tail.distinct() == n, lambda: f"{tail.distinct()} of {n} cleaned", stack)
        duplicates = tail.extra()
    print(f"cleaner: {first} pages cleaned before SIGTERM, {duplicates} cleaned twice")
    bound = max(2, n // 100)
    assert duplicates <= bound, f"{duplicates} pages cleaned twice (bound {bound})"
