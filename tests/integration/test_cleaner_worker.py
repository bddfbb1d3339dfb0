"""A real cleaner worker process: nothing is lost when it is killed mid-stream."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

from services.common.kafka import producer
from services.common.models import Entry, Page, encode
from services.common.settings import Settings
from services.common.topicread import read_all
from services.devtools.stack import Stack
from tests.conftest import SEED_HTML, validate_record

# HTML pages (tens of ms each to clean), enough that a kill lands mid-stream.
N_PAGES = 400


def make_pages(run: str, n: int = N_PAGES) -> list[Page]:
    text = SEED_HTML.read_text()
    pages = []
    for i in range(n):
        url = f"http://wire-{run}.example/story/{i}"
        body = text.replace("Israel", f"Israel ({i})")  # distinct texts
        entry = Entry(entry_id=f"{run}-{i}", feed_url=f"http://wire-{run}.example/feed", link=url)
        pages.append(Page.direct(f"{run}-{i:03d}", entry, body, "text/html"))
    return pages


async def produce(settings: Settings, pages: list[Page]) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        for page in pages:
            key = page.article_id.encode()
            await prod.send_and_wait("newswire.pages", key=key, value=encode(page))
    finally:
        await prod.stop()


def article_ids(settings: Settings, run: str) -> list[str]:
    records = asyncio.run(read_all(settings, "newswire.articles"))
    mine = [r for r in records if str(r["key"]).startswith(run)]
    for r in mine:
        validate_record("newswire.articles", r["value"])
    return [r["key"] for r in mine]


def test_sigkill_mid_stream_loses_nothing(stack: Stack, kafka_settings: Settings) -> None:
    run = uuid.uuid4().hex[:8]
    pages = make_pages(run)
    asyncio.run(produce(kafka_settings, pages))
    stack.start_service("cleaner")

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not article_ids(kafka_settings, run):
        assert stack.procs["cleaner"].alive(), (stack.run_dir / "cleaner.log").read_text()[-2000:]
    done_before_kill = set(article_ids(kafka_settings, run))
    assert done_before_kill, "the cleaner produced nothing"
    stack.stop_service("cleaner", sig=signal.SIGKILL)
    assert len(done_before_kill) < N_PAGES, "too fast to test a kill mid-stream"

    stack.start_service("cleaner")
    expected = {p.article_id for p in pages}
    deadline = time.monotonic() + 180
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = article_ids(kafka_settings, run)
        if set(seen) >= expected:
            break
    assert set(seen) == expected, f"lost: {sorted(expected - set(seen))[:5]}"
    # At-least-once: a redelivered page may be cleaned twice, never zero times.
    assert len(seen) >= N_PAGES

    # SIGTERM is a clean stop: in-flight work finished, offsets committed, exit code 0.
    assert stack.stop_service("cleaner", sig=signal.SIGTERM, timeout=60) == 0
