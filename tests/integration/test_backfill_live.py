"""Time is the article's (issue 16 item 2) through the real services: the same articles
fed live through the fetcher from a loopback site, and backfilled from a WARC whose
captures are 33 days old, get the same verdicts and the same story grouping.

Each run has a broker of its own (dedup's state must start empty in both) with one
partition per topic, so the backfill keeps the WARC's order all the way to dedup. The
live run goes first; the WARC is written in the order its dedup decided the articles
(the sequence number each story record carries), so both runs decide the same arrivals
in the same order, as the engine-level test (tests/unit/dedup/test_backfill_time.py)
does without Kafka. In both runs one article captured now goes first and is decided
before the rest: the backfill then arrives in a pipeline whose clock is today, and none
of its month-old articles may be forgotten on arrival.

The corpus: new articles on eight topics, exact copies under other paths, near copies
(three words changed) and updates (another path whose rel=canonical names the
original): the issue's 200 (about 100 s for both runs on two cores);
`BACKFILL_LIVE_ARTICLES=N` for another size.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from services.backfill.run import backfill
from services.common.kafka import consumer, ensure_topics
from services.common.models import Story, decode
from services.common.settings import Settings
from services.common.topics import STORIES
from services.common.urls import article_id
from services.dedup.sent import SEQ_HEADER
from services.devtools.broker import start_broker
from services.devtools.stack import Stack, start_seed_server
from tests.conftest import SEED_TXT
from tests.texts import story_text
from tests.unit.backfill.synthetic import Cap, write_warc

ARTICLES = int(os.environ.get("BACKFILL_LIVE_ARTICLES", "200"))
WAIT_S = 900.0
SEEDS_URL = "${SEEDS_URL}"  # the seed server puts its own base URL here
ENV = {
    "NEWSWIRE_TOPIC_PARTITIONS": "1",
    "NEWSWIRE_ENRICHERS": "language,stats,keywords",
    "NEWSWIRE_POLL_MIN_INTERVAL_SECONDS": "1",
    "NEWSWIRE_POLL_MAX_INTERVAL_SECONDS": "2",
    # One loopback host serves every outlet: its politeness delay would pace the run.
    "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0.01",
}


@dataclass(frozen=True)
class Item:
    path: str  # under the site's root
    title: str
    text: str
    minutes: int  # after the corpus' start: when it was captured
    published_minutes: int  # after the corpus' start
    canonical: str | None = None  # another path this page names as its canonical


def corpus(n: int) -> list[Item]:
    """`n` arrivals 20 minutes apart: 60% new on eight topics, then copies, near
    copies and updates of earlier ones (as tests/unit/dedup/test_backfill_time.py)."""
    rng = random.Random(16)
    out: list[Item] = []
    originals: list[Item] = []
    for i in range(n):
        kind = rng.random() if originals else 0.0
        minutes = 20 * i
        published = minutes - rng.randrange(0, 90)
        if kind < 0.6:
            text = story_text(f"live-{i}", i % 8, 120)
            item = Item(f"outlet{i % 5}/a{i}.html", f"Story {i}", text, minutes, published)
            originals.append(item)
        elif kind < 0.8:
            source = rng.choice(originals)
            item = Item(f"other/c{i}.html", source.title, source.text, minutes, published)
        elif kind < 0.9:
            source = rng.choice(originals)
            words = source.text.split()
            for j in rng.sample(range(len(words)), 3):
                words[j] = f"changed{j}"
            item = Item(f"third/n{i}.html", source.title, " ".join(words), minutes, published)
        else:
            source = rng.choice(originals)
            text = source.text + " An update came later."
            item = Item(
                f"{source.path[:-5]}-v{i}.html", source.title, text, minutes, published, source.path
            )
        out.append(item)
    return out


def html(item: Item, base: str, start: datetime) -> str:
    published = (start + timedelta(minutes=item.published_minutes)).isoformat()
    canonical = f'<link rel="canonical" href="{base}/{item.canonical}">' if item.canonical else ""
    sentences = item.text.split(". ")
    paragraphs = "".join(
        "<p>" + ". ".join(sentences[k : k + 3]) + ("" if k + 3 >= len(sentences) else ".") + "</p>"
        for k in range(0, len(sentences), 3)
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{item.title}</title>'
        f'<meta property="article:published_time" content="{published}">{canonical}</head>'
        f"<body><article><h1>{item.title}</h1>{paragraphs}</article></body></html>"
    )


def clock_page(base: str, now: datetime) -> str:
    """An article of today, on nothing the corpus is about."""
    paragraphs = "".join(f"<p>{p}</p>" for p in SEED_TXT.read_text().split("\n\n") if p.strip())
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Today</title>'
        f'<meta property="article:published_time" content="{now.isoformat()}"></head>'
        f"<body><article><h1>Today</h1>{paragraphs}</article></body></html>"
    )


def rss(base: str, entries: list[tuple[str, str, datetime]]) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/{path}</link><guid>{base}/{path}</guid>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for path, title, when in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Loopback news</title><link>{base}/</link><description>d</description>"
        f"{items}</channel></rss>"
    )


@dataclass(frozen=True)
class Decided:
    seq: int
    article_id: str
    verdict: str
    duplicate_of: str | None
    story_id: str


async def read_decisions(
    settings: Settings, count: int, alive: Callable[[], None]
) -> list[Decided]:
    """Story records until `count` are there (or WAIT_S), in dedup's sequence order."""
    found: dict[int, Decided] = {}
    cons = consumer(settings, enable_auto_commit=False, group_id=None)
    await cons.start()
    try:
        tp = TopicPartition(STORIES.name, 0)
        cons.assign([tp])
        await cons.seek_to_beginning(tp)
        deadline = time.monotonic() + WAIT_S
        while len(found) < count and time.monotonic() < deadline:
            alive()
            for records in (await cons.getmany(timeout_ms=500)).values():
                for rec in records:
                    seq = int(dict(rec.headers)[SEQ_HEADER])
                    story = decode(Story, rec.value)
                    found[seq] = Decided(
                        seq, story.article_id, story.verdict, story.duplicate_of, story.story_id
                    )
    finally:
        await cons.stop()
    return [found[s] for s in sorted(found)]


def grouping(decided: list[Decided]) -> list[tuple[str, str, str | None, str]]:
    """(article id, verdict, duplicate_of, first article of its story) in order: story
    ids compared by which article opened the story, whatever id it got."""
    first: dict[str, str] = {}
    out = []
    for d in decided:
        first.setdefault(d.story_id, d.article_id)
        out.append((d.article_id, d.verdict, d.duplicate_of, first[d.story_id]))
    return out


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Callable[[str, tuple[str, ...]], Stack]]:
    """Starts a broker of its own and services on it; stops them all afterwards."""
    stacks: list[Stack] = []

    def start(name: str, services: tuple[str, ...]) -> Stack:
        broker = start_broker()
        run_dir = tmp_path / name
        run_dir.mkdir()
        stack = Stack(broker.bootstrap, "http://127.0.0.1:9", run_dir, broker=broker)
        stacks.append(stack)
        asyncio.run(ensure_topics(settings_of(stack)))
        return stack

    try:
        yield start
    finally:
        for stack in stacks:
            stack.stop()


def settings_of(stack: Stack) -> Settings:
    return Settings(kafka_bootstrap=stack.bootstrap, topic_partitions=1)


def alive_check(stack: Stack) -> Callable[[], None]:
    def alive() -> None:
        for name, proc in stack.procs.items():
            assert proc.alive(), f"{name} died; log in {proc.log}"

    return alive


def test_an_archive_captured_33_days_ago_is_decided_as_it_was_live(
    pipeline: Callable[[str, tuple[str, ...]], Stack], tmp_path: Path
) -> None:
    items = corpus(ARTICLES)
    now = datetime.now(UTC).replace(microsecond=0)
    # Live: published over the last few days, fetched now; the same 33 days earlier.
    live_start = now - timedelta(minutes=20 * ARTICLES + 120)
    archive_start = live_start - timedelta(days=33)

    # --- live: a loopback site and its feed, through the fetcher.
    site = tmp_path / "site"
    site.mkdir()
    for item in items:
        (site / item.path).parent.mkdir(parents=True, exist_ok=True)
        (site / item.path).write_text(html(item, SEEDS_URL, live_start))
    (site / "today.html").write_text(clock_page(SEEDS_URL, now))
    feed = site / "feed.xml"
    feed.write_text(rss(SEEDS_URL, [("today.html", "Today", now)]))
    # In the site's root: the seed server's start-up probe asks for it.
    (site / "feeds.yaml").write_text(f"feeds:\n  - url: {SEEDS_URL}/feed.xml\n")

    live = pipeline("live", ())
    seeds, base = start_seed_server(live.run_dir, site)
    live.procs["seeds"] = seeds
    live.seeds_url = base
    env = {**ENV, "NEWSWIRE_FEEDS_FILE": str(site / "feeds.yaml")}
    for name in ("fetcher", "cleaner", "enricher", "dedup"):
        live.start_service(name, env)
    alive = alive_check(live)
    first = asyncio.run(read_decisions(settings_of(live), 1, alive))
    assert [d.article_id for d in first] == [article_id(f"{base}/today.html")]
    # The whole corpus appears in the feed at once, as a busy hour's worth would.
    entries = [("today.html", "Today", now)] + [
        (it.path, it.title, live_start + timedelta(minutes=it.published_minutes)) for it in items
    ]
    feed.write_text(rss(SEEDS_URL, entries))
    live_decided = asyncio.run(read_decisions(settings_of(live), ARTICLES + 1, alive))
    assert len(live_decided) == ARTICLES + 1, f"{len(live_decided)} decided; logs in {live.run_dir}"
    live.stop()

    # --- backfill: the same pages as captured 33 days earlier, in the order decided live.
    by_id = {article_id(f"{base}/{it.path}"): it for it in items}
    caps = []
    for d in live_decided[1:]:
        item = by_id[d.article_id]
        captured = archive_start + timedelta(minutes=item.minutes)
        body = html(item, base, archive_start).encode()
        caps.append(Cap(f"{base}/{item.path}", body, date=captured.isoformat()))
    today = write_warc(
        tmp_path / "today.warc.gz",
        [Cap(f"{base}/today.html", clock_page(base, now).encode(), date=now.isoformat())],
    )
    archive = write_warc(tmp_path / "archive.warc.gz", caps)

    bf = pipeline("backfill", ())
    for name in ("cleaner", "enricher", "dedup"):
        bf.start_service(name, ENV)
    alive = alive_check(bf)
    settings = settings_of(bf)
    asyncio.run(backfill([today], settings, out=io.StringIO(), tty=False, max_records_per_s=0))
    assert len(asyncio.run(read_decisions(settings, 1, alive))) == 1
    tally, _ = asyncio.run(
        backfill([archive], settings, out=io.StringIO(), tty=False, max_records_per_s=0)
    )
    assert tally.pages == ARTICLES
    bf_decided = asyncio.run(read_decisions(settings, ARTICLES + 1, alive))
    assert len(bf_decided) == ARTICLES + 1, f"{len(bf_decided)} decided; logs in {bf.run_dir}"

    assert grouping(bf_decided) == grouping(live_decided)
    verdicts = [d.verdict for d in live_decided]
    assert set(verdicts) == {"new", "duplicate", "update"}, verdicts
    # Copies of the archive's first articles were found at its end: nothing was evicted.
    assert sum(v == "duplicate" for v in verdicts) >= ARTICLES // 5
    # Stories with several articles formed, the same way in both.
    rows = grouping(live_decided)
    assert sum(1 for a, _, _, s in rows if a != s) >= ARTICLES // 4
