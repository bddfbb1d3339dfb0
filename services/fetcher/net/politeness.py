"""Per-host politeness: one request at a time per host, and a pause between requests."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from services.common import metrics

MAX_HOSTS = 10_000
# A robots.txt Crawl-delay beyond this would stall a partition's slot; it is capped.
MAX_CRAWL_DELAY_S = 60.0


@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_done: float = float("-inf")


class HostGate:
    """Serialises requests per host and spaces them by at least the host's delay.

    Entries are keyed by host, so one partition (one worker) owns each host and this
    in-process gate is enough: no coordination between replicas is needed.
    """

    def __init__(self, min_delay_s: float, max_requests: int | None = None) -> None:
        self._min_delay_s = min_delay_s
        self._hosts: OrderedDict[str, _Host] = OrderedDict()
        # Requests in flight across hosts, taken after a host's delay has passed: a host
        # waiting out its delay holds no slot that another host could use.
        self._slots = asyncio.Semaphore(max_requests) if max_requests else None

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host()
            self._evict()
        self._hosts.move_to_end(host)
        return state

    def _evict(self) -> None:
        # Drop idle hosts only: a locked one is in use and must keep its lock.
        while len(self._hosts) > MAX_HOSTS:
            host, state = next(iter(self._hosts.items()))
            if state.lock.locked():
                self._hosts.move_to_end(host)
                break
            del self._hosts[host]

    @asynccontextmanager
    async def turn(self, host: str, crawl_delay_s: float | None = None) -> AsyncIterator[None]:
        state = self._host(host)
        delay = max(self._min_delay_s, min(crawl_delay_s or 0.0, MAX_CRAWL_DELAY_S))
        started = time.monotonic()
        async with state.lock:
            wait = state.last_done + delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            metrics.POLITENESS_WAIT_SECONDS.observe(time.monotonic() - started)
            try:
                if self._slots is None:
                    yield
                else:
                    async with self._slots:
                        yield
            finally:
                state.last_done = time.monotonic()
