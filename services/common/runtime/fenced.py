"""A table partition as work begun before a rebalance sees it: gone once revoked.

Faust keeps a revoked partition's table entries reachable (and writable) by a task that
began before the revocation; a late write then lands in the changelog after the new
owner's, and replayed it would bring back older state. Used by the fetcher's polls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping


class FencedTable(MutableMapping[str, str]):
    """The feed-state table as one poll sees it: empty and unwritable once `owned()` is
    false. A poll under way when its partition was revoked then finds its feed gone and
    writes nothing: the partition's new owner polls it, and a late write would land in
    the changelog after the new owner's (replayed, it would bring back older state)."""

    def __init__(self, table: MutableMapping[str, str], owned: Callable[[], bool]) -> None:
        self.table = table
        self.owned = owned

    def __getitem__(self, url: str) -> str:
        if not self.owned():
            raise KeyError(url)
        return self.table[url]

    def __setitem__(self, url: str, raw: str) -> None:
        if self.owned():
            self.table[url] = raw

    def __delitem__(self, url: str) -> None:
        if self.owned():
            del self.table[url]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table) if self.owned() else iter(())

    def __len__(self) -> int:
        return len(self.table) if self.owned() else 0
