"""A consumer whose flow stays stopped (a rebalance that never ended, seen in make soak's
burst) fails the worker's liveness once the stall window has passed, and only then; a
flow that resumes makes it live again. A fake consumer and a fake clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from faust.types import TP

from services.common.faustapp import StageApp
from services.common.metrics import CONSUMER_LAG
from services.common.settings import Settings
from services.common.topics import ARTICLES

TPS = [TP(ARTICLES.name, p) for p in range(2)]


class Wedged:
    """A consumer holding two partitions with records behind, its flow stopped."""

    flow_active = False
    _unacked_messages: list[object] = []
    _buffered_partitions: set[TP] = set()
    _paused_partitions: set[TP] = set()

    def assignment(self) -> set[TP]:
        return set(TPS)

    def _get_active_partitions(self) -> set[TP]:
        return set(TPS)


def test_a_flow_stopped_past_the_window_fails_liveness(tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:9", data_dir=tmp_path, stall_after_seconds=60)
    sa = StageApp("enricher", settings)
    sa.recovery.completed.set()
    consumer = Wedged()
    sa.app._consumer = consumer  # type: ignore[assignment]
    now = [1000.0]
    sa._clock = lambda: now[0]
    highwaters, committed = dict.fromkeys(TPS, 50), dict.fromkeys(TPS, 10)

    async def rounds(*times: float) -> list[bool]:
        alive = []
        for t in times:
            now[0] = t
            await sa._watch_stalls(TPS, highwaters, committed)
            alive.append(sa.alive())
        return alive

    try:
        # A rebalance of a few seconds, then one that never ends.
        assert asyncio.run(rounds(1000.0, 1030.0, 1059.0)) == [True, True, True]
        assert asyncio.run(rounds(1060.0, 1200.0)) == [False, False]
        consumer.flow_active = True
        # The flow resumed: live again (the partitions are then watched as usual).
        assert sa._wedged is True
        asyncio.run(sa._watch_stalls([], {}, {}))
        assert sa.alive()
    finally:
        CONSUMER_LAG.clear()
