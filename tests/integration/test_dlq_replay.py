"""`newswire dlq list|show|replay` against a real cleaner on the real broker: pages that
timed out under a bad setting are replayed once the setting is fixed and become
articles; a second replay sends nothing; a record that fails again is dead-lettered
again, once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

from services.common.kafka import producer
from services.common.models import Entry, Page, encode
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topicread import read_all
from services.common.urls import article_id
from services.devtools.stack import Stack
from tests.conftest import SEED_HTML

DEADLINE_S = 240.0


def cli(settings: Settings, *args: str) -> str:
    env = {**os.environ, "NEWSWIRE_KAFKA_BOOTSTRAP": str(settings.kafka.bootstrap)}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "dlq", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def start_cleaner(stack: Stack, timeout_s: str) -> None:
    proc = stack.start_service("cleaner", {"NEWSWIRE_CLEANER_TIMEOUT_SECONDS": timeout_s})
    proc.wait_ready(DEADLINE_S)


async def send(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        for key, value in records:
            await prod.send_and_wait("newswire.pages", key=key, value=value)
    finally:
        await prod.stop()


def mine(settings: Settings, topic: str, keys: set[str]) -> list[dict[str, object]]:
    records = asyncio.run(read_all(settings, topic))
    return [r for r in records if r["key"] in keys]


def wait_for(what: str, check: object) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_S:.0f} s"
        time.sleep(1)


def test_dead_letters_are_listed_shown_and_replayed_once(
    stack: Stack, kafka_settings: Settings
) -> None:
    run = uuid.uuid4().hex[:8]
    since = datetime.now(UTC).isoformat()
    html = SEED_HTML.read_text()
    pages = []
    for i in range(2):
        url = f"http://outlet-{run}.example/story-{i}"
        entry = Entry(entry_id=url, feed_url="http://outlet.example/feed", link=url)
        pages.append(Page.direct(article_id(url), entry, html, "text/html"))
    garbage_key = f"garbage-{run}"
    keys = {p.article_id for p in pages}

    # A time limit no page can meet: both pages time out and are dead-lettered.
    start_cleaner(stack, "0.001")
    asyncio.run(
        send(
            kafka_settings,
            [(p.article_id.encode(), encode(p)) for p in pages]
            + [(garbage_key.encode(), b"\xff not a page")],
        )
    )
    every = {*keys, garbage_key}
    wait_for("dead letters", lambda: len(mine(kafka_settings, "newswire.dlq", every)) == 3)
    stack.stop_service("cleaner")

    # Earlier tests' records may be dead-lettered too (the topics are the session's):
    # this test's are told apart by their keys.
    listed = cli(kafka_settings, "list", "--since", since, "--records", "--stage", "cleaner")
    lines = [line for line in listed.splitlines() if any(k in line for k in every)]
    timed_out = [line.split()[0] for line in lines if " timeout " in line]
    undecodable = [line.split()[0] for line in lines if " decode " in line]
    assert len(timed_out) == 2 and len(undecodable) == 1, listed
    assert "cleaner   timeout" in listed and "cleaner   decode" in listed, listed
    shown = cli(kafka_settings, "show", timed_out[0])
    assert "reason    timeout" in shown and "source    newswire.pages[" in shown
    assert '"article_id"' in shown  # the original page, as JSON

    # Fixed: a sane time limit. A dry run sends nothing; the replay sends both pages.
    start_cleaner(stack, "20")
    dry = cli(kafka_settings, "replay", *timed_out, "--dry-run")
    assert dry.strip().endswith("2 would send, 0 skipped"), dry
    time.sleep(2)
    assert not mine(kafka_settings, "newswire.articles", keys)
    sent = cli(kafka_settings, "replay", *timed_out)
    assert sent.strip().endswith("2 sent, 0 skipped"), sent
    wait_for("articles", lambda: len(mine(kafka_settings, "newswire.articles", keys)) == 2)
    again = cli(kafka_settings, "replay", *timed_out)
    assert again.strip().endswith("0 sent, 2 skipped"), again
    assert again.count("(replayed before)") == 2

    # Still broken: replayed, it fails again and is dead-lettered again, once.
    garbage = cli(kafka_settings, "replay", *undecodable)
    assert garbage.strip().endswith("1 sent, 0 skipped"), garbage
    wait_for(
        "the second dead letter",
        lambda: len(mine(kafka_settings, "newswire.dlq", {garbage_key})) == 2,
    )
    time.sleep(3)
    assert len(mine(kafka_settings, "newswire.dlq", {garbage_key})) == 2
    assert len(mine(kafka_settings, "newswire.articles", keys)) == 2
