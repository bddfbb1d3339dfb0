"""Which feeds are due for a poll, and the poll commands in flight.

Every tick, each feed this replica owns whose `next_poll_at` has come gets a poll
command (newswire.feed-polls, the feed's partition), unless one was sent less than
`resend_s` ago and not answered yet (its worker may have died: then it goes again).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.common.models import FeedPoll, decode, utcnow
from services.fetcher.state.schedule import ScheduledTable

# A poll command not answered in this long is sent again (its worker may have died).
POLL_RESEND_S = 300.0


@dataclass(frozen=True)
class Tally:
    """The owned feeds one tick looked at, and how many of them are failing."""

    tracked: int
    failing: int


class PollScheduler:
    def __init__(self, feeds: ScheduledTable, *, resend_s: float = POLL_RESEND_S) -> None:
        self.feeds = feeds
        self.resend_s = resend_s
        # Feed URL -> when (time.monotonic) its last unanswered poll command was sent.
        self.in_flight: dict[str, float] = {}

    async def tick(
        self, owns: Callable[[int], bool], send: Callable[[FeedPoll], Awaitable[None]]
    ) -> Tally:
        """Send a poll command for each due feed in a partition `owns` accepts."""
        now, mono = utcnow(), time.monotonic()
        tracked = failing = 0
        for url, slot in list(self.feeds.slots.items()):
            if not owns(slot.partition):
                continue
            tracked += 1
            failing += slot.failing
            sent = self.in_flight.get(url, -self.resend_s)
            if slot.next_poll_at > now or mono - sent < self.resend_s:
                continue
            self.in_flight[url] = mono
            await send(FeedPoll(url=url, partition=slot.partition))
        return Tally(tracked, failing)

    def answered(self, raw: bytes | None) -> None:
        """A poll command was handled (or failed): its feed may be sent again when due."""
        if raw:
            self.in_flight.pop(decode(FeedPoll, raw).url, None)

    def forget_in_flight(self) -> None:
        """After a rebalance, poll commands in flight may have been dropped from the stream
        buffers of revoked partitions; forgetting them sends them again at once (a
        duplicate poll costs one conditional GET; seen ids stop re-emission)."""
        self.in_flight.clear()
