"""What the chaos and soak harnesses share: watching the topics, consumer-group lag,
restarting the local broker on its own data, and reading a process's resources."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.common.kafka import client_options, consumer
from services.common.runtime import probe
from services.common.settings import PROJECT_ROOT, Settings
from services.common.urls import article_id
from services.devtools.broker import LocalBroker, start_broker

log = logging.getLogger(__name__)

ENTRIES = "newswire.entries"
PAGES = "newswire.pages"
ARTICLES = "newswire.articles"
ENRICHED = "newswire.enriched"
STORIES = "newswire.stories"
DLQ = "newswire.dlq"
WATCHED = (ENTRIES, PAGES, ARTICLES, ENRICHED, STORIES, DLQ)
GROUPS = tuple(f"newswire-{s}" for s in ("fetcher", "cleaner", "enricher", "dedup"))


@dataclass(frozen=True)
class StoryRecord:
    """One record of newswire.stories, as much of it as the scoring needs."""

    article_id: str
    verdict: str
    story_id: str
    duplicate_of: str | None = None
    decided_at: datetime | None = None
    # Read order: (partition, offset); records of one article id share a partition only
    # when they share a story id, so decided_at orders them first.
    partition: int = 0
    offset: int = 0


def head_commit() -> str:
    """The checkout's commit, for the report (empty outside a git checkout)."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def story_of(value: dict[str, Any], partition: int = 0, offset: int = 0) -> StoryRecord:
    decided = value.get("decided_at")
    return StoryRecord(
        article_id=str(value.get("article_id")),
        verdict=str(value.get("verdict")),
        story_id=str(value.get("story_id")),
        duplicate_of=value.get("duplicate_of"),
        decided_at=datetime.fromisoformat(decided) if isinstance(decided, str) else None,
        partition=partition,
        offset=offset,
    )


def dlq_article_id(key: bytes | None, value: dict[str, Any], known: set[str]) -> str | None:
    """The article a dead letter is about: its key when that is an article id, else the
    id or link inside the original record (an entry is keyed by host)."""
    import base64

    text = key.decode("utf-8", "replace") if key else ""
    if text in known:
        return text
    try:
        original = json.loads(base64.b64decode(value.get("original_b64") or ""))
    except (ValueError, TypeError):
        return text or None
    if not isinstance(original, dict):
        return text or None
    for field_name in ("article_id", "id"):
        if isinstance(original.get(field_name), str) and original[field_name] in known:
            return str(original[field_name])
    link = original.get("link") or (original.get("entry") or {}).get("link")
    if isinstance(link, str):
        return article_id(link)
    return text or None


class TopicWatch:
    """Reads the pipeline's topics from the beginning in a thread of its own, through
    broker pauses and restarts, and keeps per-article counts and every story record."""

    def __init__(
        self,
        settings: Settings,
        known: set[str],
        *,
        read_committed: bool,
        topics: tuple[str, ...] = WATCHED,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.known = known
        self.read_committed = read_committed
        self.counts: dict[str, Counter[str]] = {t: Counter() for t in WATCHED}
        self.stories: list[StoryRecord] = []
        self.dlq: list[tuple[str | None, str, str]] = []  # (article id, stage, reason)
        self.dlq_errors: dict[str, str] = {}  # article id -> its first dead letter's error
        self.behind: int | None = None
        self.behind_at = 0.0
        self._positions: dict[TopicPartition, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> TopicWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def ids(self, topic: str) -> set[str]:
        with self._lock:
            return set(self.counts[topic])

    def done_ids(self) -> set[str]:
        with self._lock:
            return set(self.counts[STORIES]) | {a for a, _, _ in self.dlq if a}

    def caught_up_since(self, since: float) -> bool:
        """Read up to the end offsets as measured after `since` (monotonic)."""
        return self.behind == 0 and self.behind_at > since

    async def _run(self) -> None:
        while not self._stop.is_set():
            cons = consumer(
                self.settings,
                group_id=None,
                enable_auto_commit=False,
                isolation_level="read_committed" if self.read_committed else "read_uncommitted",
                request_timeout_ms=20000,
            )
            try:
                await cons.start()
                await self._consume(cons)
            except Exception as exc:  # the broker is away: start over from our positions
                log.info("topic watch: %r; reconnecting", exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await cons.stop()

    async def _consume(self, cons: Any) -> None:
        tps: list[TopicPartition] = []
        for topic in self.topics:
            await probe.refresh_metadata(cons)
            parts = cons.partitions_for_topic(topic) or set()
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        cons.assign(tps)
        for tp in tps:
            cons.seek(tp, self._positions.get(tp, 0))
        last_end = 0.0
        while not self._stop.is_set():
            batch = await cons.getmany(timeout_ms=500, max_records=2000)
            for tp, records in batch.items():
                for rec in records:
                    self._take(rec)
                    self._positions[tp] = rec.offset + 1
            if time.monotonic() - last_end > 2.0:
                measured = time.monotonic()
                ends = await cons.end_offsets(tps)
                for tp in tps:
                    # Transaction markers move the end past the last record read.
                    self._positions[tp] = max(self._positions.get(tp, 0), await cons.position(tp))
                self.behind = sum(max(0, ends[tp] - self._positions.get(tp, 0)) for tp in tps)
                self.behind_at = measured
                last_end = time.monotonic()

    def _take(self, rec: Any) -> None:
        topic = rec.topic
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else ""
        with self._lock:
            if topic in (PAGES, ARTICLES, ENRICHED):
                self.counts[topic][key] += 1
                return
            try:
                value = json.loads(rec.value or b"null")
            except ValueError:
                value = None
            if not isinstance(value, dict):
                return
            if topic == ENTRIES:
                link = value.get("link")
                if isinstance(link, str):
                    self.counts[topic][article_id(link)] += 1
            elif topic == STORIES:
                story = story_of(value, rec.partition, rec.offset)
                self.counts[topic][story.article_id] += 1
                self.stories.append(story)
            elif topic == DLQ:
                aid = dlq_article_id(rec.key, value, self.known)
                self.dlq.append((aid, str(value.get("stage")), str(value.get("reason"))))
                if aid:
                    self.dlq_errors.setdefault(aid, str(value.get("error"))[:300])


async def group_lag(settings: Settings, *, marker_slack: bool) -> dict[str, int]:
    """Per service group: the records past its committed offsets, over its committed
    partitions.

    `marker_slack`: under transactions the log ends in commit (and abort) markers, which
    are offsets but no records: a partition behind by offsets is read from its
    committed offset with a read-committed consumer, and only records count (the fixed
    slack of one offset this replaced missed a partition ending in two markers).
    """
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=15000)
    cons = consumer(settings, group_id=None, enable_auto_commit=False)
    await admin.start()
    await cons.start()
    out: dict[str, int] = {}
    try:
        for group in GROUPS:
            offsets = await admin.list_consumer_group_offsets(group)
            tps = [tp for tp, meta in offsets.items() if meta.offset >= 0]
            ends = await cons.end_offsets(tps) if tps else {}
            behind = {tp: offsets[tp].offset for tp in tps if ends[tp] > offsets[tp].offset}
            if marker_slack and behind:
                out[group] = await records_past(settings, behind, ends)
            else:
                out[group] = sum(ends[tp] - start for tp, start in behind.items())
    finally:
        await cons.stop()
        await admin.close()
    return out


async def records_past(
    settings: Settings, starts: dict[TopicPartition, int], ends: dict[TopicPartition, int]
) -> int:
    """Committed records from `starts` to `ends` (markers and aborted records skipped); an
    open transaction keeps its partition behind."""
    reader = consumer(
        settings, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    await reader.start()
    try:
        reader.assign(list(starts))
        for tp, start in starts.items():
            reader.seek(tp, start)
        count = 0
        todo = set(starts)
        deadline = time.monotonic() + 20.0
        while todo and time.monotonic() < deadline:
            batch = await reader.getmany(*todo, timeout_ms=500)
            count += sum(len(records) for records in batch.values())
            for tp in list(todo):
                if await reader.position(tp) >= ends[tp]:
                    todo.discard(tp)
        return count + len(todo)  # a partition still short of its end: behind
    finally:
        await reader.stop()


def kill_and_restart_broker(broker: LocalBroker) -> LocalBroker:
    """SIGKILL the broker, as a crash, and start it again on its data and ports."""
    broker.kill()
    return start_broker(data_dir=broker.workdir)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its descendants (the cleaner's worker pool)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss_kb(p)
        todo += _children(p)
    return total


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def metric_value(text: str, name: str) -> float | None:
    """The sum of a metric's samples in a Prometheus text exposition."""
    total: float | None = None
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{"):
            with contextlib.suppress(ValueError):
                total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
    return total


def scrape(url: str, timeout: float = 5.0) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return str(resp.read().decode("utf-8", "replace"))
    except OSError:
        return None


def error_lines(log_file: Path) -> int:
    try:
        with log_file.open("rb") as fh:
            return sum(1 for line in fh if b" ERROR " in line or b"[ERROR]" in line)
    except OSError:
        return 0
