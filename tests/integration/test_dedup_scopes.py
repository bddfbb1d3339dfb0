"""Two decision sequences (story scopes by language) with real dedup worker processes.

One worker holding both sequences and two workers holding one each must reach the same
verdicts and stories on the same input, and the ones `newswire cluster`'s engine gives
with the same settings (one engine per sequence). A copy filed in the other language's
scope is not found: what a deployment gives up by splitting scopes.

The sequence count is fixed when the topics are created, so this test runs a broker of
its own (the session's has one sequence).
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from services.common.errors import ConfigError
from services.common.kafka import consumer, ensure_topics, producer
from services.common.models import encode
from services.common.settings import Settings
from services.dedup.config import config_from
from services.dedup.engine import Deduper, sequence_of_item
from services.dedup.offline import cluster_lines
from services.dedup.pipeline import arrival, item_of
from services.devtools.benchdedupagent import held_answers
from services.devtools.broker import LocalBroker, start_broker
from services.devtools.stack import Stack
from tests.integration.test_dedup_workers import (
    enriched,
    mixed,
    scenario,
    send_paced,
    shape,
    start_worker,
    stories,
    uncommitted,
    wait_for_stories,
    wait_ready,
)

SCOPES = {
    "NEWSWIRE_DEDUP_SEQUENCES": "2",
    "NEWSWIRE_DEDUP_SCOPE": "language",
    "NEWSWIRE_DEDUP_SCOPE_MAP": json.dumps({"en": 0, "de": 1}),
}


@pytest.fixture(scope="module")
def scoped_broker() -> Iterator[LocalBroker]:
    broker = start_broker()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def scoped(scoped_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in SCOPES.items():
        monkeypatch.setenv(name, value)
    settings = Settings(kafka_bootstrap=scoped_broker.bootstrap)
    asyncio.run(ensure_topics(settings))
    return settings


def arrivals(run: str) -> list[tuple[str, str, str]]:
    """(article id, text, language): the workers' scenario once in each language,
    interleaved, and an English article copied into the German scope."""
    en = [(aid, text, "en") for aid, text in scenario(f"{run}-e")]
    de = [(aid, text, "de") for aid, text in scenario(f"{run}-d")]
    mixed = [a for pair in zip(en, de, strict=True) for a in pair]
    mixed.append((f"{run}-d-x0", en[0][1], "de"))
    return mixed


async def produce(settings: Settings, run: str, items: list[tuple[str, str, str]]) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        for aid, text, language in items:
            article = enriched(run, aid, text).model_copy(update={"language": language})
            await prod.send_and_wait(
                "newswire.enriched", key=aid.encode(), value=encode(article), partition=0
            )
    finally:
        await prod.stop()


async def answers_per_sequence(settings: Settings) -> dict[int, int]:
    cons = consumer(settings, enable_auto_commit=False)
    await cons.start()
    try:
        tps = [TopicPartition("newswire.dedup-answers", p) for p in (0, 1)]
        ends = await cons.end_offsets(tps)
        return {tp.partition: ends[tp] for tp in tps}
    finally:
        await cons.stop()


def run_workers(
    settings: Settings, tmp_path: Path, workers: int
) -> tuple[str, list[tuple[str, str, str]], list[dict[str, object]], dict[str, list[int]]]:
    run = uuid.uuid4().hex[:8]
    items = arrivals(run)
    (tmp_path / run).mkdir()
    stack = Stack(
        settings.kafka.bootstrap or "", seeds_url="http://127.0.0.1:9", run_dir=tmp_path / run
    )
    try:
        for i in range(workers):
            start_worker(stack, f"dedup-{i}")
        wait_ready(stack)
        asyncio.run(produce(settings, run, items))
        wait_for_stories(stack, settings, run, len({(a, t) for a, t, _ in items}), timeout=240)
        return run, items, stories(settings, run), held_answers(stack)
    finally:
        stack.stop()


def test_one_and_two_deciders_on_two_scopes_decide_alike_and_as_the_engine(
    scoped: Settings, tmp_path: Path
) -> None:
    run1, items1, found1, held1 = run_workers(scoped, tmp_path, workers=1)
    assert held1 == {"dedup-0": [0, 1]}
    before = asyncio.run(answers_per_sequence(scoped))
    run2, items2, found2, held2 = run_workers(scoped, tmp_path, workers=2)
    after = asyncio.run(answers_per_sequence(scoped))
    # Each decider held one sequence, and both sequences had work.
    assert sorted(held2.values()) == [[0], [1]], held2
    assert all(after[p] > before[p] for p in (0, 1)), (before, after)

    one = shape(run1, [(a, t) for a, t, _ in items1], found1)
    two = shape(run2, [(a, t) for a, t, _ in items2], found2)
    assert one == two

    # The engine in one process, one engine per sequence, on the same arrivals.
    lines = [
        json.dumps(
            {"id": a, "text": t, "language": lang, "url": f"http://outlet-{run2}.example/{a}"}
        )
        for a, t, lang in items2
    ]
    engine = [
        {
            "article_id": r["id"],
            "verdict": r["verdict"],
            "duplicate_of": r["duplicate_of"],
            "story_id": r["story_id"],
        }
        for r in cluster_lines(lines, config_from(scoped))
    ]
    assert two == shape(run2, [(a, t) for a, t, _ in items2], engine)

    verdict = {(a, v, d) for a, v, d, _ in two}
    # Copies within a scope are found in both scopes.
    assert ("e-b2", "duplicate", "e-a2") in verdict and ("d-b2", "duplicate", "d-a2") in verdict
    assert ("e-b3", "duplicate", "e-a3") in verdict and ("d-b3", "duplicate", "d-a3") in verdict
    # What splitting costs: the English text copied into the German scope is new there.
    assert ("d-x0", "new", None) in verdict


def test_dedup_refuses_a_sequence_count_the_topics_do_not_have(scoped: Settings) -> None:
    one = scoped.replace(dedup_sequences=1)
    with pytest.raises(ConfigError, match="NEWSWIRE_DEDUP_SEQUENCES says 1"):
        asyncio.run(ensure_topics(one))


def settled(settings: Settings) -> bool:
    """Every record of both sequences' hops acknowledged and committed."""
    offsets = asyncio.run(uncommitted(settings, sequences=2))
    return all(end == committed for end, committed in offsets.values())


def test_the_decider_of_one_sequence_killed_mid_stream_loses_and_changes_nothing(
    scoped: Settings, tmp_path: Path
) -> None:
    """Two workers, a sequence each; the holder of sequence 1 is SIGKILLed while articles
    arrive and restarted: both sequences reach exactly the engine's decisions, every
    article is on newswire.stories, and every hop's records end up committed."""
    run = uuid.uuid4().hex[:8]
    articles = [
        a.model_copy(update={"language": "de" if i % 3 == 0 else "en"})
        for i, a in enumerate(mixed(run, 240))
    ]
    config = config_from(scoped)
    (tmp_path / run).mkdir()
    stack = Stack(
        scoped.kafka.bootstrap or "", seeds_url="http://127.0.0.1:9", run_dir=tmp_path / run
    )
    try:
        for i in range(2):
            start_worker(stack, f"dedup-{i}")
        wait_ready(stack)

        sender = threading.Thread(target=asyncio.run, args=(send_paced(scoped, articles),))
        sender.start()
        time.sleep(2.5)
        victim = next(name for name, held in held_answers(stack).items() if 1 in held)
        stack.stop_service(victim, sig=signal.SIGKILL)
        assert sender.is_alive(), "all sent before the kill: nothing was in flight"
        start_worker(stack, victim)
        sender.join()

        engines: dict[int, Deduper] = {}
        expected: list[dict[str, object]] = []
        for a in articles:
            item = item_of(a)
            engine = engines.setdefault(sequence_of_item(item, config), Deduper(config=config))
            result = engine.process(item, now=arrival(a))
            expected.append(
                {
                    "article_id": result.id,
                    "verdict": result.verdict,
                    "duplicate_of": result.duplicate_of,
                    "story_id": result.story_id,
                }
            )
        assert set(engines) == {0, 1}
        wanted = {a.id for a in articles}
        deadline = time.monotonic() + 300
        found: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            found = stories(scoped, run)
            if {str(v["article_id"]) for v in found} >= wanted and settled(scoped):
                break
            time.sleep(1)
        time.sleep(3)  # redeliveries, if any, arrive before comparing
        found = stories(scoped, run)
        assert settled(scoped)
    finally:
        stack.stop()
    items = [(a.id, a.text) for a in articles]
    assert shape(run, items, found) == shape(run, items, expected)
