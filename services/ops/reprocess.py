"""`newswire reprocess --stage cleaner|enricher --since TIME`: a stage's input read again
from a time on, through the stage's current code, its results sent on as the live stage
sends them.

The records come from `newswire.pages` (cleaner) or `newswire.articles` (enricher),
every partition from the broker's offsets_for_times answer for `--since` to the one for
`--until` or the end when the run began (reprocessplan.plan_offsets). Of an article
read more than once (a page fetched again, an article cleaned again) only its last
record up to that end is taken (`Latest`): an older one would send old text on. Each
goes through
the live stage's own function (`cleaner.pipeline.handle_page`,
`enricher.pipeline.handle_article`) inside `Stage.handle`, so the outputs are the live
stage's: the same record shapes, keys (article ids), partitions (the key's, as the
stage's producer picks them) and headers, and a failure is dead-lettered under the stage's
name, replayable with `newswire dlq replay`. The cleaner uses the hosts' learned
template lines as its live table holds them now (read from the table's changelog, not
written back: that table is the live cleaner's).

Nothing downstream is duplicated: dedup takes an article id with the same text again
as a replay (its first decision, no new story record) and one with other text as an
`update` (services/dedup/engine.py, `Decider._known_url`). Nothing is noted about what
was reprocessed: running it twice is harmless for the same reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TextIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.backfill.display import Progress
from services.common.kafka import consumer, ensure_topics, partitions_of, producer, read_tail
from services.common.settings import Settings
from services.common.stage import Handler, Output, Source, Stage
from services.common.topics import DLQ
from services.ops.reprocessplan import (
    STAGES,
    Counts,
    Latest,
    Span,
    Window,
    millis,
    parse_when,
    plan_offsets,
    progress_line,
    summary_lines,
)

log = logging.getLogger(__name__)

# Faust names a table's changelog "<app id>-<table>-changelog" (cleaner/app.py's table).
SITE_LINES_CHANGELOG = "newswire-cleaner-site-lines-changelog"
# Outputs handed to the producer before waiting for the broker's acknowledgements.
IN_FLIGHT = 64


class ReprocessProgress(Progress):
    """backfill's progress display (bar on a terminal, a line every few seconds
    elsewhere), with reprocess's counts."""

    def show(self, counts: Counts, seconds: float, current: str, *, force: bool = False) -> None:
        if not force and seconds - self._last < self.interval:
            return
        self._last = seconds
        line = progress_line(counts, seconds, current, bar=self.tty)
        if self.tty:
            self.out.write("\r" + line + " " * max(0, self._width - len(line)))
            self._width = len(line)
        else:
            self.out.write(line + "\n")
        self.out.flush()


@dataclass(frozen=True)
class Request:
    stage: str
    since: datetime
    until: datetime | None = None
    limit: int | None = None
    dry_run: bool = False


async def site_lines(settings: Settings) -> dict[str, str]:
    """The cleaner's learned template lines per host, as its table holds them now."""
    sites: dict[str, str] = {}
    async for rec in read_tail(settings, SITE_LINES_CHANGELOG, {}):
        if rec.key is None:
            continue
        # Faust's json serializer stores the table's str keys and values as JSON strings.
        host = json.loads(rec.key)
        if rec.value is None:
            sites.pop(host, None)
        else:
            sites[host] = json.loads(rec.value)
    return sites


async def stage_function(stage: Stage, settings: Settings) -> tuple[Handler, bool]:
    """The live stage's function for a record, and whether to run it in a thread."""
    if stage.name == "cleaner":
        from services.cleaner.pipeline import handle_page

        sites = await site_lines(settings)
        handler = partial(handle_page, config=settings.cleaner, sites=sites)
        return handler, False
    from services.enricher import registry
    from services.enricher.pipeline import handle_article

    registry.enabled(settings.enricher)  # a misspelt NEWSWIRE_ENRICHERS stops here, before reading
    await asyncio.to_thread(registry.warm_up, settings.enricher)
    return partial(handle_article, config=settings.enricher), True


async def plan(
    settings: Settings, reader: AIOKafkaConsumer, topic: str, req: Request
) -> tuple[list[Span], dict[int, int]]:
    """The spans to read again, and every partition's end when the run began."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not tps:
        return [], {}
    beginnings = await reader.beginning_offsets(tps)
    ends = await reader.end_offsets(tps)
    found = await reader.offsets_for_times({tp: millis(req.since) for tp in tps})
    at_until = None
    if req.until is not None:
        later = await reader.offsets_for_times({tp: millis(req.until) for tp in tps})
        at_until = {tp.partition: (o.offset if o else None) for tp, o in later.items()}
    by_partition = {tp.partition: o for tp, o in ends.items()}
    spans = plan_offsets(
        {tp.partition: o for tp, o in beginnings.items()},
        by_partition,
        {tp.partition: (o.offset if o else None) for tp, o in found.items()},
        at_until,
    )
    return spans, by_partition


class Reprocess:
    def __init__(
        self,
        settings: Settings,
        req: Request,
        prod: AIOKafkaProducer,
        display: ReprocessProgress,
    ) -> None:
        self.settings = settings
        self.req = req
        self.topics = STAGES[req.stage]
        self.prod = prod
        self.display = display
        self.stage = Stage(req.stage, max_message_bytes=settings.kafka.max_message_bytes)
        self.counts = Counts()
        self.window = Window(millis(req.since), millis(req.until) if req.until else None)
        self.latest = Latest()
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def scan(self, reader: AIOKafkaConsumer, spans: list[Span], ends: dict[int, int]) -> None:
        """The first pass: each key's last record from the spans' starts to the ends."""
        topic = self.topics.source.name
        todo = {TopicPartition(topic, s.partition): ends[s.partition] for s in spans}
        reader.assign(list(todo))
        for span in spans:
            reader.seek(TopicPartition(topic, span.partition), span.start)
        while todo:
            batch = await reader.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset < todo.get(tp, -1):
                        self.latest.see(rec.key, rec.partition, rec.offset)
                self.display.show(self.counts, self.elapsed(), f"scanning {topic}[{tp.partition}]")
            for tp in list(todo):
                if await reader.position(tp) >= todo[tp]:
                    del todo[tp]

    async def run(
        self, reader: AIOKafkaConsumer, spans: list[Span], fn: Handler, offload: bool
    ) -> None:
        topic = self.topics.source.name
        todo = {TopicPartition(topic, s.partition): s.stop for s in spans}
        reader.assign(list(todo))
        for span in spans:
            reader.seek(TopicPartition(topic, span.partition), span.start)
        pending: list[asyncio.Future[object]] = []
        while todo and not self.at_limit():
            batch = await reader.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= todo.get(tp, -1) or self.at_limit():
                        break
                    self.counts.read += 1
                    if rec.timestamp not in self.window:
                        self.counts.skipped["outside_window"] += 1
                        continue
                    if self.latest.superseded(rec.key, rec.partition, rec.offset):
                        self.counts.skipped["superseded"] += 1
                        continue
                    source = Source(topic, rec.partition, rec.offset, rec.key)
                    self.counts.processed += 1
                    outputs = await self.stage.handle(source, rec.value, fn, offload=offload)
                    pending += await self.send(outputs)
                    if len(pending) >= IN_FLIGHT:
                        await asyncio.gather(*pending)
                        pending.clear()
                    self.display.show(self.counts, self.elapsed(), f"{topic}[{tp.partition}]")
            for tp in list(todo):  # a compacted or aborted tail ends before the high mark
                if await reader.position(tp) >= todo[tp]:
                    del todo[tp]
        if pending:
            await asyncio.gather(*pending)
        self.display.show(self.counts, self.elapsed(), "done", force=True)
        self.display.close()

    def at_limit(self) -> bool:
        return self.req.limit is not None and self.counts.processed >= self.req.limit

    async def send(self, outputs: Sequence[Output]) -> list[asyncio.Future[object]]:
        futures = []
        for out in outputs:
            futures.append(
                await self.prod.send(
                    out.topic,
                    out.value,
                    key=out.key,
                    partition=out.partition,
                    headers=list(out.headers) or None,
                )
            )
            if out.topic == DLQ.name:
                self.counts.dead_letters += 1
            elif out.topic == self.topics.output.name:
                self.counts.sent += 1
        self.stage.count_out(outputs)
        return futures


async def reprocess(
    settings: Settings, req: Request, *, out: TextIO, tty: bool
) -> tuple[Counts, list[Span], float]:
    """Read the stage's input again over `req`'s window and send the results on; the
    counts, the spans read and the run's seconds."""
    topics = STAGES[req.stage]
    await ensure_topics(settings, (topics.source, topics.output, DLQ))
    # read_committed: a record of an aborted transaction (an exactly_once stage's) was
    # never an input.
    reader = consumer(
        settings, enable_auto_commit=False, group_id=None, isolation_level="read_committed"
    )
    await reader.start()
    try:
        spans, ends = await plan(settings, reader, topics.source.name, req)
        display = ReprocessProgress(out, tty=tty)
        run = Reprocess(settings, req, producer(settings, linger_ms=5), display)
        run.counts.planned = sum(s.count for s in spans)
        if req.limit is not None:
            run.counts.planned = min(run.counts.planned, req.limit)
        if req.dry_run or not spans:
            return run.counts, spans, run.elapsed()
        fn, offload = await stage_function(run.stage, settings)
        await run.scan(reader, spans, ends)
        await run.prod.start()
        try:
            await run.run(reader, spans, fn, offload)
        finally:
            await run.prod.stop()
            if req.stage == "cleaner":
                from services.cleaner.workers import shared_pool

                shared_pool(settings.cleaner.workers).close()
        return run.counts, spans, run.elapsed()
    finally:
        await reader.stop()


def main(args: argparse.Namespace, settings: Settings) -> int:
    # Offset look-ups on a topic just created are retried and logged as errors by
    # aiokafka; on this terminal they would only hide the progress bar.
    logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)
    now = datetime.now(UTC)
    try:
        since = parse_when(args.since, now)
        until = parse_when(args.until, now) if args.until else None
    except ValueError as exc:
        sys.stderr.write(f"newswire reprocess: {exc}\n")
        return 2
    if until is not None and until <= since:
        sys.stderr.write("newswire reprocess: --until must be later than --since\n")
        return 2
    req = Request(args.stage, since, until, args.limit, args.dry_run)
    counts, spans, seconds = asyncio.run(
        reprocess(settings, req, out=sys.stderr, tty=sys.stderr.isatty())
    )
    source = STAGES[req.stage].source.name
    for span in spans:
        sys.stdout.write(
            f"{source}[{span.partition}] offsets {span.start}..{span.stop - 1} ({span.count})\n"
        )
    for line in summary_lines(counts, seconds, STAGES[req.stage].output.name, dry_run=req.dry_run):
        sys.stdout.write(line + "\n")
    if args.json:
        text = json.dumps(counts.as_dict(seconds))
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text + "\n")
    return 0
