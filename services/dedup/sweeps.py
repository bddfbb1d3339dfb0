"""Forgetting what left the retention window, once per day of the stream's clock.

Safe whenever a sweep runs: an entry is visible to an article only while it was filed
within the window of the stream's day at that article, and that day never goes back, so
what a sweep drops no later decision could have seen. Only the memo of the days swept
lives in memory; after a restart the first decision sweeps once more, dropping nothing
an undisturbed run keeps. Daily: retention is counted in days, and a sweep reads every
entry. No Faust here: the agents call these with their tables as mappings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import partial
from typing import Any

from services.common import metrics
from services.common.topics import partition_for
from services.dedup.clock import SWEEP_LAG_DAYS
from services.dedup.engine import DECIDER_STORES, LOOKUP_STORES, Decider
from services.dedup.lookups import Lookups
from services.dedup.scope import store_of


class Sweeps:
    def __init__(
        self,
        lookups: Lookups,
        lookup_stores: Mapping[str, Any],
        lookup_partitions: int,
        decider_table: Mapping[str, Any],
    ) -> None:
        self._lookups = lookups
        self._lookup_stores = lookup_stores
        self._lookup_partitions = lookup_partitions
        self._decider_table = decider_table
        # lookup partition -> day swept; the deciders' sweeps under -1 - sequence.
        self._swept: dict[int, int] = {}

    def decider(self, sequence: int, decider: Decider) -> None:
        """The decider's sweep of one decision sequence, at its stream day."""
        day = decider.progress()[1]
        if self._swept.get(-1 - sequence, -1) >= day:
            return
        self._swept[-1 - sequence] = day
        metrics.DEDUP_EVICTIONS.inc(decider.sweep(day))
        # One pass over the shared table rather than one per store (all the sequences
        # this worker holds).
        counts = Counter(store_of(str(k)) for k in list(self._decider_table.keys()))
        for name in DECIDER_STORES:
            metrics.DEDUP_INDEX_ENTRIES.labels(name).set(counts.get(name, 0))
        metrics.DEDUP_OPEN_STORIES.set(counts.get("stories", 0))

    def lookups(self, day: int, partition: int) -> None:
        """The lookups' sweep, per partition: only keys of the partition being read, whose
        changelog partition the deletions go to.

        `day` is the stream's day of the question being answered; the sweep runs a day
        behind it, so that a question redelivered from just before the clock moved
        still finds what it found the first time."""
        day -= SWEEP_LAG_DAYS
        if self._swept.get(partition, -1) >= day:
            return
        self._swept[partition] = day
        owns = partial(_owned, partitions=self._lookup_partitions, partition=partition)
        metrics.DEDUP_EVICTIONS.inc(self._lookups.sweep(day, owns))
        for name in LOOKUP_STORES:
            metrics.DEDUP_INDEX_ENTRIES.labels(name).set(len(self._lookup_stores[name]))


def _owned(key: str, *, partitions: int, partition: int) -> bool:
    return partition_for(key, partitions) == partition
