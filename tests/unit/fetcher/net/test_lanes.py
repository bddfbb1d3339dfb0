"""Per-host lanes (net.lanes): order within a host, no head-of-line blocking across hosts,
and what a rebalance or a stop drops."""

from __future__ import annotations

import asyncio

from services.common.metrics import POLITENESS_WAIT_SECONDS
from services.fetcher.net.lanes import HostLanes
from services.fetcher.net.politeness import HostGate


class Recorder:
    """Work that records what it did, and holds items of `slow` keys until released."""

    def __init__(self, slow: frozenset[str] = frozenset()) -> None:
        self.done: list[tuple[str, int]] = []
        self.slow = slow
        self.release = asyncio.Event()

    async def __call__(self, item: tuple[str, int]) -> None:
        if item[0] in self.slow:
            await self.release.wait()
        self.done.append(item)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_busy_host_does_not_hold_up_the_others() -> None:
    work = Recorder(slow=frozenset({"busy.example"}))
    lanes: HostLanes[tuple[str, int]] = HostLanes(work)
    # A burst of one host's links first, as a feed's first poll brings them.
    for n in range(40):
        lanes.submit("busy.example", ("busy.example", n))
    for n in range(3):
        lanes.submit(f"other{n}.example", (f"other{n}.example", n))
    await settle()
    assert work.done == [("other0.example", 0), ("other1.example", 1), ("other2.example", 2)]
    work.release.set()
    await settle()
    assert [n for host, n in work.done if host == "busy.example"] == list(range(40))
    assert lanes.waiting == 0 and lanes.hosts == 0


async def test_clear_drops_what_waits_but_not_what_is_in_work() -> None:
    work = Recorder(slow=frozenset({"a"}))
    lanes: HostLanes[tuple[str, int]] = HostLanes(work)
    for n in range(5):
        lanes.submit("a", ("a", n))
    await settle()
    assert lanes.clear() == 4
    work.release.set()
    await settle()
    assert work.done == [("a", 0)] and lanes.waiting == 0


async def test_a_failure_does_not_stop_its_lane() -> None:
    done: list[int] = []

    async def work(n: int) -> None:
        if n == 1:
            raise RuntimeError("boom")
        done.append(n)

    lanes: HostLanes[int] = HostLanes(work)
    for n in range(3):
        lanes.submit("a", n)
    await settle()
    assert done == [0, 2] and lanes.waiting == 0


async def test_close_stops_the_work_in_progress() -> None:
    work = Recorder(slow=frozenset({"a"}))
    lanes: HostLanes[tuple[str, int]] = HostLanes(work)
    lanes.submit("a", ("a", 0))
    await settle()
    await asyncio.wait_for(lanes.close(), 5)
    assert work.done == [] and lanes.waiting == 0


async def test_a_host_waiting_out_its_delay_holds_no_request_slot() -> None:
    gate = HostGate(min_delay_s=0.5, max_requests=1)
    order: list[str] = []

    async def fetch(host: str) -> None:
        async with gate.turn(host):
            order.append(host)

    await fetch("slow.example")  # its next turn is 0.5 s away
    waits_before = POLITENESS_WAIT_SECONDS._sum.get()
    again = asyncio.ensure_future(fetch("slow.example"))
    await asyncio.sleep(0.05)
    # The only slot is free while slow.example waits: another host goes first.
    await fetch("fast.example")
    assert order == ["slow.example", "fast.example"]
    await asyncio.wait_for(again, 2)
    assert order[-1] == "slow.example"
    assert POLITENESS_WAIT_SECONDS._sum.get() - waits_before >= 0.4


async def test_finish_completes_the_work_begun_and_drops_the_waiting() -> None:
    done: list[str] = []
    release = asyncio.Event()

    async def work(item: str) -> None:
        await release.wait()
        done.append(item)

    lanes: HostLanes[str] = HostLanes(work)
    for item in ("a1", "a2", "a3"):
        lanes.submit("a", item)
    lanes.submit("b", "b1")
    await asyncio.sleep(0)
    finishing = asyncio.ensure_future(lanes.finish())
    await asyncio.sleep(0.01)
    assert not finishing.done()  # a1 and b1 are in work: waited for, not cancelled
    release.set()
    await finishing
    assert sorted(done) == ["a1", "b1"]
    assert lanes.waiting == 0
