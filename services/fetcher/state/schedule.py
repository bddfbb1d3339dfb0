"""When each owned feed is next due, kept in memory beside the feed-state table.

The scheduler looks at every feed a replica owns on every tick. Parsing each feed's
stored state for that (a busy feed's is ~100 KB with its seen ids) would cost seconds
per tick at 100,000 feeds; this index costs a dictionary walk. It is written through
on every table write and rebuilt from the table once a rebalance's recovery is done
(recovery fills the table without going through this wrapper).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime

from services.fetcher.state.feedstate import StoredState


@dataclass(frozen=True)
class Slot:
    partition: int
    next_poll_at: datetime
    failing: bool


def slot_of(raw: str) -> Slot:
    state = StoredState(raw).state  # the seen ids stay undecoded
    return Slot(state.partition, state.next_poll_at, state.failing)


class ScheduledTable(MutableMapping[str, str]):
    """A feed-state table (feed URL -> FeedState JSON) that keeps `slots` up to date."""

    def __init__(self, table: MutableMapping[str, str]) -> None:
        self.table = table
        self.slots: dict[str, Slot] = {}

    def rebuild(self) -> None:
        self.slots = {url: slot_of(raw) for url, raw in self.table.items()}

    def __getitem__(self, url: str) -> str:
        return self.table[url]

    def __setitem__(self, url: str, raw: str) -> None:
        self.table[url] = raw
        self.slots[url] = slot_of(raw)

    def __delitem__(self, url: str) -> None:
        del self.table[url]
        self.slots.pop(url, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, url: object) -> bool:
        return url in self.table
