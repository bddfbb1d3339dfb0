"""The pieces of the graceful stop: the done-past-the-commit bitmap, and what ordered
acknowledgements report and flush when a worker stops."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from services.common import faults
from services.common.donemeta import PREFIX, decode_done, encode_done
from services.common.runtime.acks import OrderedAcks


def test_done_offsets_round_trip_for_their_commit_point() -> None:
    done = {105, 106, 107, 150, 151, 999}
    meta = encode_done(100, [*done, 42])  # below the commit point: not carried
    assert meta.startswith(f"{PREFIX}:100:")
    assert decode_done(meta, 100) == done


def test_metadata_of_another_commit_point_or_writer_says_nothing() -> None:
    meta = encode_done(100, [101, 102])
    assert decode_done(meta, 101) == frozenset()  # a later commit replaced ours
    assert decode_done("", 100) == frozenset()  # Faust's own commits
    assert decode_done(None, 100) == frozenset()
    assert decode_done(f"{PREFIX}:100:not-base64!", 100) == frozenset()
    assert decode_done("someone-else:100:abc", 100) == frozenset()


def test_too_many_done_offsets_keep_the_lowest_that_fit() -> None:
    # Every other offset over a long span: incompressible enough to overflow.
    done = list(range(1000, 1000 + 200_000, 2))
    meta = encode_done(1000, done, max_chars=300)
    assert 0 < len(meta) <= 300
    kept = decode_done(meta, 1000)
    assert kept and kept == set(done[: len(kept)])  # a prefix: redone, never skipped wrongly
    assert encode_done(1000, []) == ""


@dataclass(frozen=True)
class Message:
    tp: str
    offset: int


@dataclass(frozen=True)
class Event:
    message: Message


class Stream:
    def __init__(self) -> None:
        self.acked: list[Any] = []

    async def ack(self, event: Any) -> bool:
        self.acked.append(event)
        return True


def test_finished_beyond_reports_each_partitions_first_open_offset_and_done_ones() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        stream = Stream()
        acks = OrderedAcks(stream, idle_s=10)
        a0, a1, a2 = (Event(Message("a", n)) for n in (10, 11, 12))
        b0, b1 = Event(Message("b", 5)), Event(Message("b", 6))
        for e in (a0, b0, a1, b1, a2):
            acks.read(e)
        failed = loop.create_future()
        failed.set_exception(RuntimeError("not delivered"))
        pending = loop.create_future()
        await acks.done([a1], [])  # done behind a0, which is still open
        await acks.done([b0, b1], [])  # its partition is complete, but behind a0
        await acks.done([a2], [failed])  # a failed output is not done
        assert stream.acked == []
        assert acks.finished_beyond() == {"a": (10, [11]), "b": (5, [5, 6])}
        acks.read(Event(Message("c", 0)))
        await acks.done([Event(Message("c", 0))], [pending])  # not read: ignored
        assert "c" not in acks.finished_beyond()

    asyncio.run(run())


def test_flush_waits_for_the_outputs_of_the_finished_front() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        stream = Stream()
        acks = OrderedAcks(stream, idle_s=10)
        events = [Event(Message("a", n)) for n in range(3)]
        for e in events:
            acks.read(e)
        out = loop.create_future()
        await acks.done(events[:2], [out])  # finished, outputs not yet acknowledged
        loop.call_later(0.05, out.set_result, None)
        await acks.flush()
        assert stream.acked == events[:2]  # the third is still open: not acknowledged
        assert acks.pending == 1

    asyncio.run(run())


def test_fault_points_are_off_unless_armed() -> None:
    faults.arm("")
    faults.reached(faults.POLL_SENT)  # still alive
    faults.arm(f" other , {faults.POLL_SENT}")
    try:
        assert faults.armed() == {"other", faults.POLL_SENT}
    finally:
        faults.arm("")
    assert faults.armed() == frozenset()
