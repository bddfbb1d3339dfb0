"""Acknowledging by hand, in order: for agents that take records with `stream.noack()`.

Faust acknowledges a record when the agent takes the next one; Newswire's agents that
send outputs without waiting for each (dedup's hops) or finish records out of order (the
fetcher's page lanes) acknowledge themselves, each record once its outputs are on the
broker, and always as a prefix of what was read (faust-streaming's gap bookkeeping did
not see a gap of one offset right after the committed one; consumer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

#: The app options of a service whose agents hold records unacknowledged across events
#: (with OrderedAcks): Faust's default, before a rebalance, waits for every record read to
#: be acknowledged, which for them ends late or never (a decision waiting for its lookups'
#: answers; pages read ahead, each host in its turn). What is not acknowledged is simply
#: read again by the partition's new owner.
HOLDING_RECORDS: dict[str, object] = {"stream_wait_empty": False}


class OrderedAcks:
    """Acknowledge events in the order they were read, each once it is finished and its
    outputs are on the broker, without making every event wait for its own round trip.

    For agents whose events are many and small (dedup's hops): awaiting each event's
    outputs before reading the next caps an agent at one broker round trip per event;
    and for the page agent, whose events finish out of order (one lane per host).
    Acknowledgements always form a prefix of the events read: Faust commits the highest
    contiguous acknowledged offset, and its own bookkeeping did not see a gap of one
    offset right after the committed one (fixed in services.common.runtime; a prefix is safe
    either way). `read` registers an event when it is read (the
    decider finishes them in another order); `add` reads and finishes at once. A send
    that fails stops the acknowledgements there and crashes the worker (`on_error`):
    the records are read again after the restart.
    """

    def __init__(
        self,
        stream: Any,
        limit: int = 1000,
        idle_s: float = 0.2,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        skip_done: bool = False,
    ) -> None:
        self.stream = stream
        self.skip_done = skip_done
        self.limit = limit
        self.idle_s = idle_s
        self.on_error = on_error
        # Bumped by `reset`: work begun before a rebalance can tell it is stale.
        self.generation = 0
        self._read: deque[Any] = deque()  # events in the order read
        self._held: dict[int, Any] = {}  # id -> event, for the events in _read
        self._finished: dict[int, list[Any]] = {}  # id(event) -> its output futures
        self._lock = asyncio.Lock()
        self._idle: asyncio.Task[None] | None = None
        self._failed = False
        self._fewer = asyncio.Event()  # set whenever events leave `_read`

    def read(self, event: Any) -> None:
        self._read.append(event)
        self._held[id(event)] = event

    @property
    def pending(self) -> int:
        """Events read and not yet acknowledged (nor dropped by `reset`)."""
        return len(self._read)

    async def wait_for_room(self, limit: int) -> None:
        """Wait while `limit` events are pending: what a crash or rebalance makes the
        consumer read again is bounded by this, not only what is still in work."""
        while len(self._read) >= limit:
            self._fewer.clear()
            await self._fewer.wait()

    def reset(self) -> None:
        """Forget every event not yet acknowledged (partitions were revoked: Faust reads
        the kept ones again from the committed offsets)."""
        self.generation += 1
        self._read.clear()
        self._held.clear()
        self._finished.clear()
        self._fewer.set()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    async def done(self, events: Sequence[Any], futures: Sequence[Any]) -> None:
        """`events` are finished once `futures` (their outputs) are."""
        for event in events:
            if self._held.get(id(event)) is event:  # not one dropped by `reset`
                self._finished[id(event)] = list(futures)
        await self.drain(wait=len(self._finished) > self.limit)
        if self._read and (self._idle is None or self._idle.done()):
            # The last events of a burst are acknowledged even if no more arrive.
            self._idle = asyncio.ensure_future(self._drain_when_idle())

    async def add(self, events: Sequence[Any], futures: Sequence[Any]) -> None:
        for event in events:
            self.read(event)
        await self.done(events, futures)

    async def drain(self, wait: bool = False) -> None:
        """Acknowledge the finished events at the front; `wait`: also wait for their
        outputs while more than `limit` are finished."""
        async with self._lock:
            while self._read and id(self._read[0]) in self._finished:
                futures = self._finished[id(self._read[0])]
                if not wait and not all(f.done() for f in futures):
                    return
                if futures:
                    generation = self.generation
                    try:
                        await asyncio.gather(*futures)
                    except Exception as exc:
                        if not self._failed:
                            self._failed = True
                            log.error("output not delivered, stopping acknowledgements: %r", exc)
                            if self.on_error is not None:
                                self.on_error(exc)
                        raise
                    if generation != self.generation:
                        return  # reset while waiting: the events are read again
                event = self._read.popleft()
                del self._finished[id(event)]
                del self._held[id(event)]
                self._fewer.set()
                await self.stream.ack(event)
                wait = wait and len(self._finished) > self.limit

    async def flush(self) -> None:
        """Acknowledge every finished event at the front, waiting for their outputs."""
        while self._read and id(self._read[0]) in self._finished and not self._failed:
            futures = self._finished[id(self._read[0])]
            if futures:
                await asyncio.wait(futures)
            try:
                await self.drain()
            except Exception:  # reported once, by `drain`; the rest is read again
                return

    def finished_beyond(self) -> dict[Any, tuple[int, list[int]]]:
        """Per partition with events not yet acknowledged: the first one's offset, and the
        offsets of those finished with their outputs delivered (they wait behind an
        unfinished one, possibly of another partition)."""
        found: dict[Any, tuple[int, list[int]]] = {}
        for event in self._read:
            msg = event.message
            _, done = found.setdefault(msg.tp, (msg.offset, []))
            futures = self._finished.get(id(event))
            if futures is not None and all(_delivered(f) for f in futures):
                done.append(msg.offset)
        return {tp: entry for tp, entry in found.items() if entry[1]}

    async def _drain_when_idle(self) -> None:
        while self._read and id(self._read[0]) in self._finished and not self._failed:
            await asyncio.sleep(self.idle_s)
            head = self._read[0] if self._read else None
            futures = self._finished.get(id(head), []) if head is not None else []
            if futures:
                await asyncio.wait(futures)
            with contextlib.suppress(Exception):  # reported once, by `drain`
                await self.drain()


def _delivered(future: Any) -> bool:
    return bool(future.done() and not future.cancelled() and future.exception() is None)
