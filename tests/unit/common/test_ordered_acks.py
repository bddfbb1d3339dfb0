from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common.runtime.acks import OrderedAcks


class Stream:
    def __init__(self) -> None:
        self.acked: list[Any] = []

    async def ack(self, event: Any) -> bool:
        self.acked.append(event)
        return True


def test_events_are_acknowledged_in_order_once_their_outputs_are_done() -> None:
    async def run() -> list[Any]:
        loop = asyncio.get_running_loop()
        stream = Stream()
        acks = OrderedAcks(stream, idle_s=0.01)
        first, second = loop.create_future(), loop.create_future()
        await acks.add(["a"], [first])
        await acks.add(["b1", "b2"], [second])
        await acks.add(["c"], [])  # no outputs, but after b
        second.set_result(None)  # b's outputs are on the broker first ...
        await acks.drain()
        assert stream.acked == []  # ... yet nothing goes before a
        first.set_result(None)
        await asyncio.sleep(0.05)  # no more events: the idle drain acknowledges the rest
        return stream.acked

    assert asyncio.run(run()) == ["a", "b1", "b2", "c"]


def test_past_the_limit_adding_waits_for_the_oldest() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        stream = Stream()
        acks = OrderedAcks(stream, limit=1, idle_s=10)
        slow = loop.create_future()
        await acks.add(["a"], [slow])
        adding = asyncio.ensure_future(acks.add(["b"], []))
        await asyncio.sleep(0.01)
        assert not adding.done()  # two pending, limit one: waits for a
        slow.set_result(None)
        await adding
        assert stream.acked == ["a", "b"]

    asyncio.run(run())


def test_a_failed_send_stops_the_acknowledgements_there() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        stream = Stream()
        acks = OrderedAcks(stream, idle_s=10)
        failed = loop.create_future()
        failed.set_exception(RuntimeError("broker said no"))
        await acks.add(["a"], [])
        with pytest.raises(RuntimeError):
            await acks.add(["b"], [failed])
        assert stream.acked == ["a"]

    asyncio.run(run())


def test_events_finished_out_of_order_are_acknowledged_as_a_prefix_of_those_read() -> None:
    async def run() -> None:
        stream = Stream()
        acks = OrderedAcks(stream, idle_s=10)
        for event in ("h10", "h11", "a10"):
            acks.read(event)
        await acks.done(["h10", "a10"], [])  # article 10 decided; 11 still waits
        assert stream.acked == ["h10"]  # not a10: h11, read before it, is unfinished
        await acks.done(["h11"], [])
        assert stream.acked == ["h10", "h11", "a10"]

    asyncio.run(run())


def test_a_failed_send_calls_on_error() -> None:
    async def run() -> list[BaseException]:
        loop = asyncio.get_running_loop()
        errors: list[BaseException] = []
        acks = OrderedAcks(Stream(), idle_s=10, on_error=errors.append)
        failed = loop.create_future()
        failed.set_exception(RuntimeError("message too large"))
        with pytest.raises(RuntimeError):
            await acks.add(["a"], [failed])
        return errors

    assert [str(e) for e in asyncio.run(run())] == ["message too large"]


def test_reset_forgets_what_was_read_and_ignores_late_finishes() -> None:
    async def run() -> list[Any]:
        stream = Stream()
        acks = OrderedAcks(stream, idle_s=10)
        acks.read("held")  # the decider's record, waiting for its article
        acks.read("other")
        before = acks.generation
        acks.reset()  # partitions revoked
        assert acks.generation == before + 1
        await acks.done(["held"], [])  # a decision that was under way: ignored
        await acks.add(["again"], [])  # read again after the rebalance
        return stream.acked

    assert asyncio.run(run()) == ["again"]


async def test_reading_ahead_waits_for_acknowledgements_not_only_for_work() -> None:
    """The page agent's bound: a stuck first event holds back the reader, however many
    later events are done, since a crash makes the consumer read all of them again."""
    stream = Stream()
    acks = OrderedAcks(stream, idle_s=0.01)
    for name in ("stuck", "b", "c"):
        await acks.wait_for_room(3)
        acks.read(name)
    await acks.done(["b", "c"], [])  # finished, but behind "stuck": not acknowledged
    fourth = asyncio.ensure_future(acks.wait_for_room(3))
    await asyncio.sleep(0.05)
    assert not fourth.done() and acks.pending == 3 and stream.acked == []
    await acks.done(["stuck"], [])
    await asyncio.wait_for(fourth, 2)
    assert stream.acked == ["stuck", "b", "c"] and acks.pending == 0


async def test_a_reset_frees_the_room_and_a_reset_while_draining_acknowledges_nothing() -> None:
    loop = asyncio.get_running_loop()
    stream = Stream()
    acks = OrderedAcks(stream, idle_s=0.01)
    acks.read("a")
    waiting = asyncio.ensure_future(acks.wait_for_room(1))
    await asyncio.sleep(0.01)
    acks.reset()  # revoked: "a" will be read again
    await asyncio.wait_for(waiting, 2)
    acks.read("x")
    out = loop.create_future()
    await acks.done(["x"], [out])
    draining = asyncio.ensure_future(acks.drain(wait=True))
    await asyncio.sleep(0.01)
    acks.reset()  # revoked while its output was awaited
    out.set_result(None)
    await asyncio.wait_for(draining, 2)  # no IndexError on the emptied queue
    assert stream.acked == []
