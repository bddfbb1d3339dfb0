"""Dedup dies at its fault points and restarts:

* the decider, between its story records reaching the broker and the note that says
  so: restarted, it sends no article's record a second time (issue 13, item 1: every
  article once on newswire.stories, whatever dies);
* the lookups' holder, after filing questions whose answers never reached the broker:
  restarted, it answers them again as it did the first time, however many later
  articles filed under their keys meanwhile.

Real broker, dedup as a real process killed by its own fault point (os._exit, as a
SIGKILL or an OOM kill would).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

from aiokafka import TopicPartition

from services.common import faults
from services.common.kafka import consumer, partitions_of, read_tail
from services.common.settings import Settings
from services.dedup.config import config_from
from services.dedup.engine import Deduper
from services.dedup.pipeline import arrival, item_of
from services.dedup.sent import sent_record
from services.devtools.stack import Stack
from tests.integration.test_dedup_workers import (
    enriched,
    produce_articles,
    stories,
    wait_for_stories,
    wait_ready,
)
from tests.texts import story_text

N_ARTICLES = 6
WAIT_S = 240.0


def start_dedup(stack: Stack, fault: str = "") -> None:
    stack.start_service(
        "dedup",
        {
            "NEWSWIRE_FAULT_INJECT": fault,
            "NEWSWIRE_DATA_DIR": str(stack.run_dir / "dedup"),  # the same disk after restart
        },
    )


async def headers_of(settings: Settings, run: str) -> dict[str, int]:
    """Article id -> the sequence header of its story record."""
    out = {}
    async for rec in read_tail(settings, "newswire.stories", {}):
        got = sent_record(rec.headers, rec.value)
        if got is not None and got[1].startswith(run):
            out[got[1]] = got[0]
    return out


HOPS = ("newswire.enriched", "newswire.dedup-sequence", "newswire.dedup-lookups",
        "newswire.dedup-answers")  # fmt: skip


async def behind(settings: Settings) -> dict[str, int]:
    """Records of each of dedup's input topics its group has not committed."""
    cons = consumer(settings, group_id="newswire-dedup", enable_auto_commit=False)
    await cons.start()
    try:
        tps = [TopicPartition(t, p) for t in HOPS for p in await partitions_of(settings, t)]
        ends = await cons.end_offsets(tps)
        out: dict[str, int] = {}
        for tp in tps:
            out[tp.topic] = out.get(tp.topic, 0) + ends[tp] - (await cons.committed(tp) or 0)
        return out
    finally:
        await cons.stop()


def wait_committed(settings: Settings) -> None:
    """Until dedup has committed every record of every hop: nothing left to redo."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        left = asyncio.run(behind(settings))
        if not any(left.values()):
            return
        time.sleep(1)
    raise AssertionError(f"dedup did not commit its inputs: {left}")


def died_at(stack: Stack, point: str) -> None:
    """Until the dedup process armed at `point` has killed itself there."""
    proc = stack.procs["dedup"]
    deadline = time.monotonic() + WAIT_S
    while proc.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.popen.poll() == faults.EXIT_CODE, proc.log.read_text()[-3000:]
    assert f"dying at {point}" in proc.log.read_text()
    stack.procs.pop("dedup")


def test_a_decider_killed_after_sending_and_before_noting_it_sends_nothing_twice(
    stack: Stack, kafka_settings: Settings
) -> None:
    run = uuid.uuid4().hex[:8]
    articles = [
        enriched(run, f"{run}-a{i}", story_text(f"{run}-{i}", i % 6)) for i in range(N_ARTICLES)
    ]
    # Earlier tests may have left records for dedup (the topics are the session's): let
    # a worker decide those first, so that the fault point is reached on this test's.
    start_dedup(stack)
    wait_ready(stack)
    wait_committed(kafka_settings)
    stack.stop_service("dedup")
    start_dedup(stack, fault=faults.STORIES_SENT)
    wait_ready(stack)
    asyncio.run(produce_articles(kafka_settings, articles))
    died_at(stack, faults.STORIES_SENT)
    # Died after at least one article's story record was acknowledged.
    assert stories(kafka_settings, run), "no story record before the fault point"

    start_dedup(stack)
    wait_ready(stack)
    wait_for_stories(stack, kafka_settings, run, N_ARTICLES, timeout=WAIT_S)
    wait_committed(kafka_settings)  # nothing left to redo
    found = stories(kafka_settings, run)
    stack.stop_service("dedup")

    per_article = Counter(str(v["article_id"]) for v in found)
    assert per_article == Counter({a.id: 1 for a in articles})
    # Every record carries the decider's sequence number, each its own.
    seqs = asyncio.run(headers_of(kafka_settings, run))
    assert set(seqs) == {a.id for a in articles}
    assert len(set(seqs.values())) == N_ARTICLES


def test_questions_answered_again_after_later_articles_filed_get_their_first_answers(
    stack: Stack, kafka_settings: Settings
) -> None:
    """The lookups' holder files a near copy's questions and 20 exact copies' of its
    original, but none of their answers reaches the broker; it dies and is restarted,
    and answers them all again from postings those copies filed into (a band key keeps
    its latest 16). The verdicts are the engine's in one process: the near copy still
    finds its original."""
    run = uuid.uuid4().hex[:8]
    text = story_text(f"{run}-o", 0)
    words = text.split()
    words[10:13] = ["completely", "different", "words"]
    original = enriched(run, f"{run}-orig", text)
    near = enriched(run, f"{run}-near", " ".join(words))
    copies = [enriched(run, f"{run}-copy{i}", text) for i in range(20)]
    arrivals = [original, near, *copies]
    deduper = Deduper(config=config_from(kafka_settings))
    expected = {
        a.id: (r.verdict, r.duplicate_of, r.match)
        for a in arrivals
        for r in [deduper.process(item_of(a), now=arrival(a))]
    }
    assert expected[near.id] == ("duplicate", original.id, "near")

    start_dedup(stack)
    wait_ready(stack)
    asyncio.run(produce_articles(kafka_settings, [original]))
    wait_for_stories(stack, kafka_settings, run, 1, timeout=WAIT_S)
    wait_committed(kafka_settings)  # decided and committed: the floor is past it
    stack.stop_service("dedup")

    start_dedup(stack, fault=faults.ANSWERS_WITHHELD)
    wait_ready(stack)
    asyncio.run(produce_articles(kafka_settings, [near, *copies]))
    died_at(stack, faults.ANSWERS_WITHHELD)
    assert [str(v["article_id"]) for v in stories(kafka_settings, run)] == [original.id]

    start_dedup(stack)
    wait_ready(stack)
    found = wait_for_stories(stack, kafka_settings, run, len(arrivals), timeout=WAIT_S)
    wait_committed(kafka_settings)
    found = stories(kafka_settings, run)
    stack.stop_service("dedup")
    got = {str(v["article_id"]): (v["verdict"], v["duplicate_of"], v["match"]) for v in found}
    assert got == expected
