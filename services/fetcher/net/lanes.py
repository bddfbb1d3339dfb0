"""Per-host lanes: each host's items in the order they came, hosts side by side.

The page agent reads entries in partition order, and a host's pages must wait their
turn (HostGate: one request at a time, a delay between). Were each entry awaited where
it was read, a burst of one host's links (a feed's first poll brings dozens) would hold
every slot of the agent while the other hosts' pages waited behind it: head-of-line
blocking, a stall of minutes for a host with a Crawl-delay. Here every host has a lane
of its own. How far the reader may run ahead is the agent's to bound (by what is not
yet acknowledged, which is what a crash makes it read again).

Pure asyncio, no Kafka: the agent hands in its events and acknowledges them itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class HostLanes(Generic[T]):
    """Runs `work` on submitted items: one at a time and in order per key, keys at once."""

    def __init__(self, work: Callable[[T], Awaitable[None]]) -> None:
        self._work = work
        self._lanes: dict[str, deque[T]] = {}  # the head of a lane is the item in work
        self._runners: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Items submitted and not finished, those in work included."""
        return sum(len(lane) for lane in self._lanes.values())

    @property
    def hosts(self) -> int:
        return len(self._lanes)

    def submit(self, key: str, item: T) -> None:
        """Queue `item` in its key's lane."""
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(item)
            return
        lane = self._lanes[key] = deque([item])
        runner = asyncio.ensure_future(self._run(key, lane))
        self._runners.add(runner)  # a reference, so the task is not collected
        runner.add_done_callback(self._runners.discard)

    async def _run(self, key: str, lane: deque[T]) -> None:
        try:
            while lane:
                item = lane[0]
                try:
                    await self._work(item)
                except Exception:  # work reports its own failures; the lane goes on
                    log.exception("lane %s: work failed", key)
                finally:
                    if lane and lane[0] is item:  # not dropped by `clear` meanwhile
                        lane.popleft()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    def clear(self) -> int:
        """Drop every item not yet in work, and return how many: after a rebalance the
        consumer reads them again from the committed offsets (or another replica does)."""
        dropped = 0
        for lane in self._lanes.values():
            while len(lane) > 1:
                lane.pop()
                dropped += 1
        return dropped

    async def finish(self) -> None:
        """Drop every item not yet in work and wait for those in work to end (a graceful
        stop: what was begun is finished, what waited is read again after a restart)."""
        self.clear()
        runners = list(self._runners)
        if runners:
            await asyncio.wait(runners)

    async def close(self) -> None:
        """Stop every lane, items in work included."""
        self.clear()
        runners = list(self._runners)
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
