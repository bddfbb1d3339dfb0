"""Readiness while the broker is paused (SIGSTOP) rather than down: no connection error
is ever logged, the lag probe just never gets its answer. A probe left waiting more than
BROKER_WAIT_S makes the worker not ready, until a probe is answered again.

A fake consumer whose high-water marks never come, and a fake clock: no waiting on time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from faust.types import TP

from services.common.faustapp import BROKER_WAIT_S, StageApp
from services.common.metrics import CONSUMER_LAG
from services.common.settings import Settings
from services.common.topics import PAGES


class PausedBroker:
    """A consumer whose `highwaters` waits until `resume` (a SIGSTOPped broker)."""

    def __init__(self) -> None:
        self.held = {TP(PAGES.name, 0)}
        self._committed_offset = {TP(PAGES.name, 0): 5}
        self.asked = asyncio.Event()
        self.answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fail = False

    def assignment(self) -> set[TP]:
        return set(self.held)

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        self.asked.set()
        if self.fail:  # what asyncio.wait_for raises when the probe gives up
            raise TimeoutError
        await self.answer
        return {tp: 9 for tp in tps}

    def resume(self) -> None:
        self.answer.set_result(None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(tmp_path: Path) -> Iterator[StageApp]:
    # The stall watch off: it reads consumer internals this fake does not have.
    settings = Settings(kafka_bootstrap="127.0.0.1:9", data_dir=tmp_path, stall_after_seconds=0)
    sa = StageApp("cleaner", settings)
    sa.recovery.completed.set()  # tables recovered: only the broker decides
    yield sa
    CONSUMER_LAG.clear()


def paused(sa: StageApp) -> tuple[PausedBroker, Clock]:
    consumer, clock = PausedBroker(), Clock()
    sa.app._consumer = consumer  # type: ignore[assignment]
    sa._clock = clock
    sa._broker_ok_at = clock.now
    return consumer, clock


async def test_a_probe_left_waiting_makes_the_worker_unready_until_answered(
    app: StageApp,
) -> None:
    consumer, clock = paused(app)
    assert app.ready()
    probe = asyncio.ensure_future(app._measure_lag())
    await asyncio.wait_for(consumer.asked.wait(), 60)
    assert app.ready()  # a probe under way is no sign yet
    clock.now += BROKER_WAIT_S / 2
    assert app.ready()
    clock.now += BROKER_WAIT_S
    assert not app.ready()  # waiting longer than BROKER_WAIT_S: the broker is away
    consumer.resume()
    await asyncio.wait_for(probe, 60)
    assert app.ready()


async def test_a_probe_that_gave_up_keeps_the_worker_unready_until_one_is_answered(
    app: StageApp,
) -> None:
    consumer, clock = paused(app)
    consumer.fail = True
    await app._measure_lag()
    clock.now += BROKER_WAIT_S + 1
    assert not app.ready()
    await app._measure_lag()  # another probe gives up: still unready, no flapping
    assert not app.ready()
    consumer.fail = False
    consumer.resume()
    await app._measure_lag()
    assert app.ready()
