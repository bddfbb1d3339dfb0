"""Series the alerts and dashboard rely on: present at 0 from the start, and gone once
this worker no longer reads the topic they describe."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faust.types import TP
from prometheus_client.parser import text_string_to_metric_families

from services.common.faustapp import StageApp
from services.common.metrics import CONSUMER_LAG, REGISTRY, STAGES
from services.common.settings import Settings

PAGES = "newswire.pages"
ARTICLES = "newswire.articles"


def test_a_stage_exports_its_counters_at_zero_from_the_start(tmp_path: Path) -> None:
    # A fresh interpreter: in this one, other tests may have counted records already.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from prometheus_client import generate_latest\n"
        "from services.common.faustapp import StageApp\n"
        "from services.common.metrics import REGISTRY\n"
        "from services.common.settings import Settings\n"
        "StageApp('dedup', Settings(kafka_bootstrap='127.0.0.1:9', data_dir=Path(sys.argv[1])))\n"
        "print(generate_latest(REGISTRY).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    samples = {
        (s.name, s.labels.get("stage")): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    for name in ("newswire_records_in_total", "newswire_records_out_total"):
        assert samples.get((name, "dedup")) == 0.0, f"{name}{{stage='dedup'}} not at 0"
        # Only its own: another stage's zero would say that stage runs here.
        assert not {stage for (n, stage) in samples if n == name} - {"dedup"}


def test_zero_series_use_the_stages_own_label_values() -> None:
    # A renamed stage would leave the zero series under a label nobody increments.
    from services.cleaner.pipeline import STAGE as CLEANER
    from services.dedup.pipeline import STAGE as DEDUP
    from services.enricher.pipeline import STAGE as ENRICHER
    from services.fetcher.pipeline import STAGE as FETCHER

    assert set(STAGES) == {FETCHER, CLEANER, ENRICHER, DEDUP}


class FakeConsumer:
    """The consumer's bookkeeping side: what is assigned, where the logs end, commits."""

    def __init__(self) -> None:
        self.assigned: set[TP] = set()
        self._committed_offset: dict[TP, int] = {}
        self.during_highwaters: Any = None

    def assignment(self) -> set[TP]:
        return set(self.assigned)

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        if self.during_highwaters is not None:
            self.during_highwaters()
        return {tp: 1000 for tp in tps}

    def hold(self, *tps: TP, committed: int = 400) -> None:
        self.assigned = set(tps)
        self._committed_offset = {tp: committed for tp in tps}


@pytest.fixture
def lag_app(tmp_path: Path) -> Iterator[tuple[StageApp, FakeConsumer]]:
    sa = StageApp("cleaner", Settings(kafka_bootstrap="127.0.0.1:9", data_dir=tmp_path))
    consumer = FakeConsumer()
    sa.app._consumer = consumer  # type: ignore[assignment]
    yield sa, consumer
    CONSUMER_LAG.clear()


def lag(topic: str) -> float | None:
    return REGISTRY.get_sample_value(
        "newswire_consumer_lag_records", {"stage": "cleaner", "topic": topic}
    )


async def test_lag_is_summed_over_the_assigned_partitions(
    lag_app: tuple[StageApp, FakeConsumer],
) -> None:
    sa, consumer = lag_app
    consumer.hold(TP(PAGES, 0), TP(PAGES, 1))
    await sa._measure_lag()
    assert lag(PAGES) == 1200
    consumer.hold(TP(PAGES, 1))  # partition 0 moved to another replica
    await sa._measure_lag()
    assert lag(PAGES) == 600


async def test_lag_series_dropped_when_the_assignment_empties(
    lag_app: tuple[StageApp, FakeConsumer],
) -> None:
    sa, consumer = lag_app
    consumer.hold(TP(PAGES, 0), TP(PAGES, 1))
    await sa._measure_lag()
    consumer.hold()
    await sa._measure_lag()
    assert lag(PAGES) is None


async def test_lag_series_dropped_for_a_topic_no_longer_held(
    lag_app: tuple[StageApp, FakeConsumer],
) -> None:
    sa, consumer = lag_app
    consumer.hold(TP(PAGES, 0), TP(ARTICLES, 0))
    await sa._measure_lag()
    consumer.hold(TP(ARTICLES, 0))
    await sa._measure_lag()
    assert (lag(PAGES), lag(ARTICLES)) == (None, 600)


async def test_lag_series_dropped_when_partitions_are_revoked(
    lag_app: tuple[StageApp, FakeConsumer],
) -> None:
    sa, consumer = lag_app
    consumer.hold(TP(PAGES, 0), TP(ARTICLES, 0))
    await sa._measure_lag()
    # Faust's revocation signal, before the consumer's assignment changes.
    await sa.app.on_partitions_revoked.send({TP(PAGES, 0)})
    assert (lag(PAGES), lag(ARTICLES)) == (None, 600)


async def test_lag_not_reported_for_a_topic_revoked_while_probing(
    lag_app: tuple[StageApp, FakeConsumer],
) -> None:
    sa, consumer = lag_app
    consumer.hold(TP(PAGES, 0), TP(ARTICLES, 0))
    consumer.during_highwaters = lambda: consumer.hold(TP(ARTICLES, 0))
    await sa._measure_lag()
    assert (lag(PAGES), lag(ARTICLES)) == (None, 600)


async def test_a_partition_this_process_never_committed_counts_from_the_groups_commit(
    lag_app: tuple[StageApp, FakeConsumer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sa, consumer = lag_app
    consumer.hold(TP(PAGES, 0), TP(PAGES, 1))
    del consumer._committed_offset[TP(PAGES, 1)]  # handed nothing out since the start
    asked: list[list[TP]] = []

    async def on_broker(tps: list[TP]) -> dict[TP, int]:
        asked.append(list(tps))
        return {TP(PAGES, 1): 950}

    monkeypatch.setattr(sa, "_group_committed", on_broker)
    await sa._measure_lag()
    assert asked == [[TP(PAGES, 1)]]
    assert lag(PAGES) == 600 + 50  # not 600 + 1000

    async def unknown(tps: list[TP]) -> dict[TP, int]:
        return {}

    monkeypatch.setattr(sa, "_group_committed", unknown)
    await sa._measure_lag()
    assert lag(PAGES) == 600 + 1000  # nothing known: the whole partition is behind
