"""`newswire backfill PATH...`: archive files -> newswire.pages, resumably, at a bounded rate.

Each file is read record by record (`warc.read_captures`), each capture turned into a
page or a reason to skip it (`records.prepare`), pages sent to newswire.pages in their
host's partition as the fetcher sends them, and what a user would want to see (an
oversized or unreadable record, a URL that cannot be keyed) to newswire.dlq. Every
`NEWSWIRE_BACKFILL_CHECKPOINT_RECORDS` records, the offset reached is noted on
newswire.backfill-progress once the broker has acknowledged all sent before it; at the
end of a file, that it is done. The sending goes on meanwhile (the notes wait for the
acknowledgements in order, not the run). A second run over the same files sends nothing.
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
from services.backfill.records import Prepared, prepare
from services.backfill.warc import read_captures
from services.common.errors import ConfigError
from services.common.kafka import ensure_topics, partitions_of, producer, read_tail
from services.common.models import BackfillProgress, encode
from services.common.settings import Settings
from services.common.stage import RECORD_OVERHEAD
from services.common.topics import BACKFILL_PROGRESS, DLQ, PAGES

ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
# Pages are tens to hundreds of KB: aiokafka's default 16 KB batch holds one each. The
# producer has one request in flight to a broker at a time, each with a batch per
# partition: 4 MB batches (~20 pages of ~180 KB) take the broker half the CPU per record
# that 1 MB ones did (docs/performance-backfill.md).
BATCH_BYTES = 4 * 1024 * 1024
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
        self._notes: asyncio.Future[None] | None = None
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
                self.note_when_acked(key, path, size, Plan(capture.offset, capture.index), pending)
                pending = []
                since_note = 0
            since_note += 1
            index = capture.index + 1
            self.tally.records += 1
            self.tally.bytes_read += max(0, capture.offset - reached)
            reached = max(reached, capture.offset)
            item = prepare(capture, path, self.partitions, self.max_record_bytes)
            self.count(item)
            out = item.out
            if out is not None:
                await self.throttle()
                pending.append(
                    await self.prod.send(out.topic, out.value, key=out.key, partition=out.partition)
                )
            if self.tally.records % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            self.display.update(self.tally, self.elapsed(), path.name)
        self.tally.bytes_read += max(0, size - reached)
        self.note_when_acked(key, path, size, Plan(size, index, done=True), pending)
        await self.notes_sent()

    def count(self, item: Prepared) -> None:
        if item.skipped is not None:
            self.tally.skipped[item.skipped] += 1
        if item.dead_letter:
            self.tally.dead_letters += 1
        elif item.out is not None:
            self.tally.pages += 1

    async def throttle(self) -> None:
        wait = self.limit.delay(time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)

    def note_when_acked(
        self, key: str, path: Path, size: int, at: Plan, pending: list[asyncio.Future[object]]
    ) -> None:
        """Note how far the file is done once everything sent before is acknowledged,
        while the run goes on sending: the notes are sent in order, each after the
        acknowledgements of the records before its point and after the note before it.
        A failed send fails the note and every later one (`notes_sent` raises it)."""
        self.raise_failed_note()
        note = BackfillProgress(
            path=str(path), size=size, offset=at.start, records=at.skip_records, done=at.done
        )
        self._notes = asyncio.ensure_future(self._note(self._notes, key, note, pending))

    async def _note(
        self,
        before: asyncio.Future[None] | None,
        key: str,
        note: BackfillProgress,
        pending: list[asyncio.Future[object]],
    ) -> None:
        if before is not None:
            await before
        if pending:
            await asyncio.gather(*pending)
        await self.prod.send_and_wait(BACKFILL_PROGRESS.name, encode(note), key=key.encode())
        self.noted[key] = note

    def raise_failed_note(self) -> None:
        """Stop sending as soon as a note (or a record before it) has failed."""
        if self._notes is not None and self._notes.done():
            self._notes.result()

    async def notes_sent(self) -> None:
        """Wait for every note asked for so far (and so for every record sent)."""
        if self._notes is not None:
            await self._notes


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
    prod = producer(settings, linger_ms=10, max_batch_size=BATCH_BYTES)
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
