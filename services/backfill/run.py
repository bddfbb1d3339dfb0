"""`newswire backfill PATH...`: archive files -> newswire.pages, resumably, at a bounded rate.

Each file is read record by record (`warc.read_captures`), each capture turned into a
page or a reason to skip it (`records.page_from_capture`), pages sent to newswire.pages
in their host's partition as the fetcher sends them, and what a user would want to see
(an oversized or unreadable record, a URL that cannot be keyed) to newswire.dlq. Every
`NEWSWIRE_BACKFILL_CHECKPOINT_RECORDS` records, once the broker has acknowledged all
sent so far, the offset reached is noted on newswire.backfill-progress; at the end of a
file, that it is done. A second run over the same files sends nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from aiokafka import AIOKafkaProducer

from services.backfill.display import Progress, Tally, summary_lines
from services.backfill.progress import Plan, RateLimit, file_key, fold, plan
from services.backfill.records import Skip, dead_letter_for, page_from_capture
from services.backfill.warc import Capture, read_captures
from services.common.errors import ConfigError
from services.common.kafka import ensure_topics, partitions_of, producer, read_tail
from services.common.models import BackfillProgress, encode
from services.common.settings import Settings
from services.common.stage import RECORD_OVERHEAD, Output
from services.common.topics import BACKFILL_PROGRESS, DLQ, PAGES
from services.fetcher.pipeline import page_record

ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
# Let the producer's sender run now and then while the (blocking) reader works.
YIELD_EVERY = 32


def expand(args: Sequence[str]) -> list[Path]:
    """Files named, matched by a glob, or (recursively) in a directory, each once."""
    found: list[Path] = []
    for arg in args:
        if any(c in arg for c in "*?["):
            matches = sorted(Path(p) for p in glob.glob(arg, recursive=True))
        else:
            matches = [Path(arg)]
        if not matches:
            raise ConfigError(f"no file matches {arg!r}")
        for match in matches:
            if match.is_dir():
                found += sorted(
                    p for p in match.rglob("*") if p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES)
                )
            elif match.is_file():
                found.append(match)
            else:
                raise ConfigError(f"{arg}: no such file or directory")
    seen: set[Path] = set()
    unique = []
    for path in found:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


class Backfill:
    def __init__(
        self,
        settings: Settings,
        prod: AIOKafkaProducer,
        partitions: int,
        noted: dict[str, BackfillProgress],
        display: Progress,
        *,
        max_records_per_s: float,
    ) -> None:
        self.settings = settings
        self.prod = prod
        self.partitions = partitions
        self.noted = noted
        self.display = display
        self.limit = RateLimit(max_records_per_s)
        self.max_record_bytes = settings.kafka.max_message_bytes - RECORD_OVERHEAD
        self.tally = Tally()
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def run(self, paths: Sequence[Path]) -> Tally:
        sizes = {path: path.stat().st_size for path in paths}
        self.tally.bytes_total = sum(sizes.values())
        for path in paths:
            await self.file(path, sizes[path])
        self.display.update(self.tally, self.elapsed(), "done", force=True)
        self.display.close()
        return self.tally

    async def file(self, path: Path, size: int) -> None:
        key = file_key(path)
        where = plan(self.noted.get(key), size)
        self.tally.files += 1
        if where.done:
            self.tally.files_done_before += 1
            self.tally.bytes_read += size
            return
        self.tally.bytes_read += where.start
        pending: list[asyncio.Future[object]] = []
        since_note = 0
        reached, index = where.start, where.skip_records
        captures = read_captures(
            path,
            max_body_bytes=self.settings.fetcher.max_bytes,
            start=where.start,
            skip_records=where.skip_records,
        )
        for capture in captures:
            if since_note >= self.settings.backfill.checkpoint_records:
                await self.note(key, path, size, Plan(capture.offset, capture.index), pending)
                since_note = 0
            since_note += 1
            index = capture.index + 1
            self.tally.records += 1
            self.tally.bytes_read += max(0, capture.offset - reached)
            reached = max(reached, capture.offset)
            out = self.output(capture, path)
            if out is not None:
                await self.throttle()
                pending.append(
                    await self.prod.send(out.topic, out.value, key=out.key, partition=out.partition)
                )
            if self.tally.records % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            self.display.update(self.tally, self.elapsed(), path.name)
        self.tally.bytes_read += max(0, size - reached)
        await self.note(key, path, size, Plan(size, index, done=True), pending)

    def output(self, capture: Capture, path: Path) -> Output | None:
        outcome = page_from_capture(capture, path.name)
        if isinstance(outcome, Skip):
            self.tally.skipped[outcome.reason] += 1
            if not outcome.dead_letter:
                return None
            self.tally.dead_letters += 1
            return dead_letter_for(capture, outcome, str(path), self.max_record_bytes)
        record = page_record(outcome, self.partitions)
        if len(record.value or b"") + len(record.key or b"") > self.max_record_bytes:
            self.tally.skipped["too_large"] += 1
            self.tally.dead_letters += 1
            skip = Skip("too_large", True, "page record over the broker's message size limit")
            return dead_letter_for(capture, skip, str(path), self.max_record_bytes)
        self.tally.pages += 1
        return record

    async def throttle(self) -> None:
        wait = self.limit.delay(time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)

    async def note(
        self, key: str, path: Path, size: int, at: Plan, pending: list[asyncio.Future[object]]
    ) -> None:
        """Note how far the file is done, once everything sent before is acknowledged."""
        if pending:
            await asyncio.gather(*pending)
            pending.clear()
        note = BackfillProgress(
            path=str(path), size=size, offset=at.start, records=at.skip_records, done=at.done
        )
        await self.prod.send_and_wait(BACKFILL_PROGRESS.name, encode(note), key=key.encode())
        self.noted[key] = note


async def load_notes(settings: Settings) -> dict[str, BackfillProgress]:
    records = [(r.key, r.value) async for r in read_tail(settings, BACKFILL_PROGRESS.name, {})]
    return fold(records)


async def backfill(
    paths: Sequence[Path],
    settings: Settings,
    *,
    out: TextIO,
    tty: bool,
    max_records_per_s: float | None = None,
) -> tuple[Tally, float]:
    """Send `paths` to newswire.pages; the run's tally and its seconds."""
    await ensure_topics(settings, (PAGES, DLQ, BACKFILL_PROGRESS))
    partitions = len(await partitions_of(settings, PAGES.name))
    noted = await load_notes(settings)
    # Pages are tens to hundreds of KB: aiokafka's default 16 KB batch holds one each.
    prod = producer(settings, linger_ms=10, max_batch_size=1024 * 1024)
    await prod.start()
    try:
        rate = (
            settings.backfill.max_records_per_s if max_records_per_s is None else max_records_per_s
        )
        run = Backfill(
            settings, prod, partitions, noted, Progress(out, tty=tty), max_records_per_s=rate
        )
        tally = await run.run(paths)
        return tally, run.elapsed()
    finally:
        await prod.stop()


def main(args: argparse.Namespace, settings: Settings) -> int:
    # Reading a just-created progress topic, aiokafka logs each retried offset look-up
    # as an error; on this terminal they would only hide the progress bar.
    logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)
    try:
        paths = expand(args.paths)
    except ConfigError as exc:
        sys.stderr.write(f"newswire backfill: {exc}\n")
        return 2
    tally, seconds = asyncio.run(
        backfill(
            paths,
            settings,
            out=sys.stderr,
            tty=sys.stderr.isatty(),
            max_records_per_s=args.max_records_per_s,
        )
    )
    for line in summary_lines(tally, seconds):
        sys.stdout.write(line + "\n")
    if args.json:
        text = json.dumps(tally.as_dict(seconds))
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text + "\n")
    return 0
