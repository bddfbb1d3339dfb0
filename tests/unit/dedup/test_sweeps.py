"""The daily sweeps: once per day of the stream's clock, the lookups a day behind it and
only over the keys of the partition being read."""

from __future__ import annotations

from services.common.topics import partition_for
from services.dedup.clock import SWEEP_LAG_DAYS
from services.dedup.config import DedupConfig
from services.dedup.engine import DedupStores, lookups_of
from services.dedup.lookups import Question
from services.dedup.sweeps import Sweeps

CONFIG = DedupConfig(retention_days=30)


def filed(stores: DedupStores, keys: list[str], day: int) -> None:
    lookups = lookups_of(stores, CONFIG)
    for seq, key in enumerate(keys):
        lookups.answer(Question(seq, "hash", key, day))


def test_the_lookups_sweep_a_day_behind_once_a_day_and_only_their_partition() -> None:
    stores = DedupStores()
    keys = [f"k{i}" for i in range(40)]
    filed(stores, keys, day=100)
    mine = {k for k in keys if partition_for(k, 4) == 1}
    assert mine and len(mine) < len(keys)
    sweeps = Sweeps(
        lookups_of(stores, CONFIG),
        {
            "urls": stores.urls,
            "hashes": stores.hashes,
            "bands": stores.bands,
            "story_keys": stores.story_keys,
        },
        4,
        {},
    )

    # Day 130 is the last day the entries are within retention, counted a day behind.
    sweeps.lookups(130 + SWEEP_LAG_DAYS, partition=1)
    assert set(stores.hashes) == set(keys)
    sweeps.lookups(131 + SWEEP_LAG_DAYS, partition=1)
    assert set(stores.hashes) == set(keys) - mine  # only partition 1's keys went
    filed(stores, sorted(mine), day=100)  # filed again, old-dated
    sweeps.lookups(131 + SWEEP_LAG_DAYS, partition=1)  # the same day: not swept again
    assert set(stores.hashes) == set(keys)
    sweeps.lookups(132 + SWEEP_LAG_DAYS, partition=1)
    assert set(stores.hashes) == set(keys) - mine
