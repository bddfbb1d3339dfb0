"""The run sends on while its progress notes wait for the broker's acknowledgements: a
note is sent only once every record before its point is acknowledged, the notes go out
in order, and a failed send fails the run with no note past it (no broker here: a
producer whose acknowledgements the test gives)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer

from services.backfill.display import Progress
from services.backfill.progress import file_key
from services.backfill.records import prepare
from services.backfill.run import Backfill
from services.backfill.warc import read_captures
from services.common.models import BackfillProgress, decode
from services.common.settings import Settings
from services.common.topics import BACKFILL_PROGRESS, PAGES
from tests.unit.backfill.synthetic import Cap, article_html, write_warc

RECORDS = 7
CHECKPOINT = 3


class HeldProducer:
    """Records what is sent; a record's acknowledgement waits for `ack`."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, asyncio.Future[object]]] = []
        self.notes: list[BackfillProgress] = []
        self.log: list[str] = []  # "send <n>" and "note <records>" in the order they happened

    async def send(
        self, topic: str, value: bytes | None, key: bytes | None = None, partition: Any = None
    ) -> asyncio.Future[object]:
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, key, fut))
        self.log.append(f"send {len(self.sent) - 1}")
        return fut

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        assert topic == BACKFILL_PROGRESS.name
        note = decode(BackfillProgress, value)
        self.notes.append(note)
        self.log.append(f"note {note.records}")

    def ack(self, upto: int) -> None:
        for _, _, fut in self.sent[:upto]:
            if not fut.done():
                fut.set_result(None)


def archive(tmp_path: Path) -> Path:
    caps = [
        Cap(f"https://batch.test/a/{i}", article_html(i, "batch").encode()) for i in range(RECORDS)
    ]
    return write_warc(tmp_path / "batch.warc.gz", caps)


def run_of(prod: HeldProducer) -> Backfill:
    settings = Settings(backfill_checkpoint_records=CHECKPOINT)
    return Backfill(
        settings,
        cast(AIOKafkaProducer, prod),
        4,
        {},
        Progress(io.StringIO(), tty=False),
        max_records_per_s=0,
    )


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def started(tmp_path: Path) -> tuple[Path, HeldProducer, asyncio.Task[None]]:
    """A run over a fresh archive, sending it all with nothing acknowledged yet."""
    path = archive(tmp_path)
    prod = HeldProducer()
    task = asyncio.create_task(run_of(prod).file(path, path.stat().st_size))
    await settle()
    return path, prod, task


async def test_notes_wait_for_the_acknowledgements_not_the_sending(tmp_path: Path) -> None:
    path = archive(tmp_path)
    prod = HeldProducer()
    run = run_of(prod)
    task = asyncio.create_task(run.file(path, path.stat().st_size))
    await settle()
    # Every record is sent although none is acknowledged: the checkpoints did not stop it.
    assert len(prod.sent) == RECORDS and prod.notes == []
    prod.ack(CHECKPOINT - 1)
    await settle()
    assert prod.notes == []  # one record before the first point still unacknowledged
    prod.ack(CHECKPOINT)
    await settle()
    assert [n.records for n in prod.notes] == [CHECKPOINT]
    prod.ack(RECORDS - 1)
    await settle()
    assert [n.records for n in prod.notes] == [CHECKPOINT, 2 * CHECKPOINT]
    assert not task.done()  # the file's end waits for its last record
    prod.ack(RECORDS)
    await asyncio.wait_for(task, 5)
    assert [(n.records, n.done) for n in prod.notes] == [
        (CHECKPOINT, False),
        (2 * CHECKPOINT, False),
        (RECORDS, True),
    ]
    # Each note's point is the offset of the first record it does not cover: a resumed
    # run starts there, at that record's index.
    captures = list(read_captures(path, max_body_bytes=1 << 20))
    assert [n.offset for n in prod.notes[:2]] == [
        captures[CHECKPOINT].offset,
        captures[2 * CHECKPOINT].offset,
    ]
    assert prod.notes[-1].offset == path.stat().st_size
    assert run.noted[file_key(path)] == prod.notes[-1]
    assert [t for t, _, _ in prod.sent] == [PAGES.name] * RECORDS


async def test_the_records_are_the_ones_prepare_builds_in_file_order(tmp_path: Path) -> None:
    path, prod, task = await started(tmp_path)
    prod.ack(RECORDS)
    await asyncio.wait_for(task, 5)
    expected = [prepare(c, path, 4, None).out for c in read_captures(path, max_body_bytes=1 << 20)]
    assert [k for _, k, _ in prod.sent] == [o.key for o in expected if o is not None]


async def test_a_failed_send_fails_the_run_and_notes_nothing_past_it(tmp_path: Path) -> None:
    _, prod, task = await started(tmp_path)
    prod.ack(CHECKPOINT)
    prod.sent[CHECKPOINT + 1][2].set_exception(RuntimeError("broker said no"))
    prod.ack(RECORDS)
    with pytest.raises(RuntimeError, match="broker said no"):
        await asyncio.wait_for(task, 5)
    # The first point's records were all acknowledged; nothing after the failure is noted.
    assert [n.records for n in prod.notes] == [CHECKPOINT]


async def test_a_first_record_that_fails_leaves_the_file_unnoted(tmp_path: Path) -> None:
    _, prod, task = await started(tmp_path)
    prod.sent[0][2].set_exception(RuntimeError("lost"))
    prod.ack(RECORDS)
    with pytest.raises(RuntimeError, match="lost"):
        await asyncio.wait_for(task, 5)
    assert prod.notes == []  # a second run starts the file again: nothing is lost
