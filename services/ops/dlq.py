"""`newswire dlq list|show|replay`: dead letters read from newswire.dlq, and sent back to
the topic they came from once the cause is fixed.

A replay sends the original bytes with the original key to the source topic, the stage
handles them as any record (a record that fails again is dead-lettered again, once: a
new dead letter with a new id), and newswire.dlq-replays notes each id sent, so a second
replay of the same selection sends nothing. The note is written only after the broker
acknowledged the replayed record: a replay cut short sends again what it had not noted.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from services.common.errors import DecodeError
from services.common.kafka import ensure_topics, producer, read_tail
from services.common.models import DeadLetter, DlqReplay, decode, encode
from services.common.settings import Settings
from services.common.topics import DLQ, DLQ_REPLAYS
from services.ops.deadletters import Letter, Selection, letter_id, why_not_replayable

#: A header on a replayed record: which dead letter it came from.
REPLAYED_FROM = "newswire-replayed-from"


async def read_letters(settings: Settings) -> list[Letter]:
    out = []
    async for rec in read_tail(settings, DLQ.name, {}):
        try:
            letter = decode(DeadLetter, rec.value)
        except DecodeError:
            continue  # not a dead letter: nothing to list or replay
        out.append(Letter(letter_id(rec.partition, rec.offset), letter))
    return out


async def replayed_ids(settings: Settings) -> set[str]:
    done: set[str] = set()
    async for rec in read_tail(settings, DLQ_REPLAYS.name, {}):
        if rec.key is None:
            continue
        key = rec.key.decode()
        if rec.value is None:
            done.discard(key)  # a tombstone: replayable again
        else:
            done.add(key)
    return done


@dataclass
class ReplayReport:
    sent: list[Letter]
    skipped: list[tuple[Letter, str]]


async def replay(settings: Settings, select: Selection, *, dry_run: bool) -> ReplayReport:
    await ensure_topics(settings, (DLQ_REPLAYS,))
    done = await replayed_ids(settings)
    report = ReplayReport([], [])
    chosen = [item for item in await read_letters(settings) if select(item)]
    for item in chosen:
        why = why_not_replayable(item, done)
        if why is None:
            report.sent.append(item)
        else:
            report.skipped.append((item, why))
    if dry_run or not report.sent:
        return report
    prod = producer(settings)
    await prod.start()
    try:
        for item in report.sent:
            d = item.letter
            assert d.source_topic is not None
            key = d.key.encode() if d.key is not None else None
            await prod.send_and_wait(
                d.source_topic,
                key=key,
                value=item.original(),
                # Its own partition again: some topics place records by more than their
                # key (pages go to their host's partition, where the cleaner's table is).
                partition=d.source_partition,
                headers=[(REPLAYED_FROM, item.id.encode())],
            )
            note = DlqReplay(
                dlq_id=item.id, stage=d.stage, reason=d.reason, to_topic=d.source_topic
            )
            await prod.send_and_wait(DLQ_REPLAYS.name, key=item.id.encode(), value=encode(note))
    finally:
        await prod.stop()
    return report


def write(line: str) -> None:
    sys.stdout.write(line + "\n")
