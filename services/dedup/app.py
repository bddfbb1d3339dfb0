"""Dedup's Faust app: keyed lookups in partitioned tables, decisions in sequences.

    newswire.enriched --route (N partitions: keys and features computed here)-->
    newswire.dedup-sequence (a partition per decision sequence, one by default: its
        offsets number the sequence's articles) --ask-->
    newswire.dedup-lookups (N partitions, by URL key / content hash / band key / story
        key; tables dedup-urls, -hashes, -bands, -story_keys) --answer-->
    newswire.dedup-answers (a partition per sequence) --gather, decide--> newswire.stories

Why the decisions stay in a sequence: a verdict and a story id depend on every
earlier decision (a duplicate takes the story of its original, a story's centroid
moves with each article it takes), so the same input must be decided in the same
order wherever it runs. The sequence fixes that order once; each keyed lookup then
answers "what came before this article" from the entries' sequence numbers, which
is the same whichever worker holds the key and however often a question is
redelivered. The lookups' state (URL keys, hashes, band and story-key postings) is
partitioned across workers; the decider keeps each article's outcome and sketch, the
story centroids and the entities' document counts.

More than one sequence (story scopes, scope.py): each partition of the sequence topic
and of the answers topic is a sequence of its own, decided by whichever worker holds
that answers partition, with its own decider state, clock and sent mark, and lookup
keys filed apart; so sequences are decided in parallel by as many workers.

At-least-once without loss: the decider acknowledges an article's records only once
its verdict is on newswire.stories; after a crash they are read and gathered again,
and an article decided before gets its stored decision again. Its story record is not
sent again when the topic has it already (sent.py): every article once on
newswire.stories, whatever dies.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from faust.types import TP

from services.common import faults
from services.common.errors import DecodeError
from services.common.faustapp import StageApp
from services.common.kafka import end_offsets, read_tail
from services.common.models import DedupAnswer, decode, encode
from services.common.runtime.acks import HOLDING_RECORDS, OrderedAcks
from services.common.settings import Settings
from services.common.stage import Source
from services.common.topics import (
    DEDUP_ANSWERS,
    DEDUP_LOOKUPS,
    DEDUP_SEQUENCE,
    ENRICHED,
    STORIES,
)
from services.dedup.clock import StreamClock
from services.dedup.config import config_from
from services.dedup.engine import (
    DECIDER_STORES,
    LOOKUP_STORES,
    Decider,
    DedupStores,
    lookups_of,
)
from services.dedup.gather import Gatherer, Ready
from services.dedup.pipeline import STAGE, answer, ask, checked_answer, route, verdict
from services.dedup.scope import store_prefix
from services.dedup.sent import SentMark, sent_record
from services.dedup.sweeps import Sweeps
from services.dedup.versions import Versions

log = logging.getLogger(__name__)

# Stores whose values are packed bytes (lsh.py); the others hold JSON or text.
BYTES_STORES = ("bands", "story_keys", "sketches")
# In the decider's progress store: the last article whose story records the broker has.
SENT_KEY = "sent"
# A producer linger (10 ms, 1 MiB batches) cut the broker's CPU per article by half in
# bench-dedup-agent, but in one CI run a dedup worker's ~110 hop records never reached
# the broker after "producer buffer full" and it decided nothing for 4 minutes
# (test_dedup_faults). Left at Faust's defaults until that is understood.


@dataclass
class _Sequence:
    """What the decider holds for one decision sequence (one answers partition)."""

    decider: Decider
    gatherer: Gatherer[Any]
    # Decided articles whose story records are on their way to the broker, in order.
    sending: deque[tuple[int, list[Any]]] = field(default_factory=deque)
    # Sequence number -> article id of the story records found on newswire.stories past
    # the last "sent" note when this worker took over the sequence (None: not read yet).
    found_sent: dict[int, str] | None = None
    # Sequence number -> article id of the story records this worker has sent and no
    # "sent" note covers yet. An article's answers can come twice (its questions asked
    # again after a restart of the ask hop), and a second complete set would decide it
    # again before the first's records are acknowledged and noted. Kept when revoked:
    # what is in flight may still land.
    sent_here: dict[int, str] = field(default_factory=dict)

    def forget(self) -> None:
        # Revoked: the records gathered so far will be read again by the new owner.
        self.gatherer.clear()
        self.sending.clear()
        self.found_sent = None


def build(settings: Settings) -> StageApp:
    # The decider holds records unacknowledged until their article is complete.
    sa = StageApp(STAGE, settings, **HOLDING_RECORDS)
    config = config_from(settings)
    lookup_partitions = DEDUP_LOOKUPS.partition_count(settings)
    sequences = DEDUP_SEQUENCE.partition_count(settings)

    def table(name: str, partitions: int, binary: bool) -> Any:
        # Changelogged, persisted in RocksDB so a restart replays only the changelog's
        # tail; each co-partitioned with the topic whose agent reads and writes it.
        return sa.app.Table(
            f"dedup-{name}",
            key_type=str,
            value_type=bytes if binary else str,
            partitions=partitions,
            store=settings.dedup.store,
        )

    # A sequence's decider stores share one table: its changelog partition is then one
    # ordered log, and a decision's logged writes survive a crash as a prefix (batch.py).
    # The table has a partition per sequence, and each sequence its own key prefix.
    decider_table = table("decider", DEDUP_ANSWERS.partition_count(settings), binary=True)
    lookup_stores = {
        name: table(name, lookup_partitions, binary=name in BYTES_STORES) for name in LOOKUP_STORES
    }

    def stores_of(sequence: int) -> DedupStores:
        return DedupStores(
            **lookup_stores,
            **{
                name: Prefixed(
                    decider_table, store_prefix(sequence, name), binary=name in BYTES_STORES
                )
                for name in DECIDER_STORES
            },
        )

    lookups = lookups_of(stores_of(0), config)
    # The stream's day at each sequence number, where the sequence is numbered (the
    # table partitioned like newswire.dedup-sequence, a key per sequence).
    clock_table = table("clock", sequences, binary=False)
    clocks = {n: StreamClock(clock_table, key=f"days{n or ''}") for n in range(sequences)}
    # Each sequence's URL versions, to tell replays (versions.py), in the same table: the
    # ask hop writes both, in sequence order.
    versions = {
        n: Versions(Prefixed(clock_table, f"versions{n}:", binary=True), config.retention_days)
        for n in range(sequences)
    }
    states: dict[int, _Sequence] = {}

    def state_of(sequence: int) -> _Sequence:
        if sequence not in states:
            decider = Decider(stores_of(sequence), config)
            states[sequence] = _Sequence(decider, Gatherer(lambda: decider.progress()[0]))
        return states[sequence]

    sweeps = Sweeps(lookups, lookup_stores, lookup_partitions, decider_table)

    def note_sent(state: _Sequence) -> None:
        """Record the last decided article whose story records the broker has, and where
        they ended: after a crash, the decisions read again up to it are not sent a
        second time, and the records sent after it are found from there (sent.py). In
        the agent's event, so the write goes to the decider table's changelog like its
        other writes."""
        mark: SentMark | None = None
        sending, progress = state.sending, state.decider.base.progress
        while sending and all(f.done() for f in sending[0][1]):
            seq, futures = sending.popleft()
            if any(f.cancelled() or f.exception() is not None for f in futures):
                sending.clear()  # the worker stops on a failed send (OrderedAcks)
                return
            faults.reached(faults.STORIES_SENT)
            mark = mark or SentMark.decode(progress.get(SENT_KEY))
            mark.advance(seq, [f.result() for f in futures], STORIES.name)
        if mark is not None:
            progress[SENT_KEY] = mark.encode()
            for seq in [s for s in state.sent_here if s <= mark.seq]:
                del state.sent_here[seq]

    async def find_sent(sequence: int) -> dict[int, str]:
        """The story records of `sequence` sent past its last note, read back from the
        topic."""
        progress = state_of(sequence).decider.base.progress
        mark = SentMark.decode(progress.get(SENT_KEY))
        found: dict[int, str] = {}
        try:
            if not mark.ends:
                # The decider's first start on this table (or on a note written before
                # the ends were kept): nothing it sent can be found, none needs to be.
                # Note where the topic ends now, so what it sends from here can be.
                mark.ends = await end_offsets(settings, STORIES.name)
                progress[SENT_KEY] = mark.encode()
                # On the changelog before the first story record goes out: a decider
                # killed before this note was written would leave its successor none,
                # and the successor would note the ends past what was sent, then send it
                # again (seen when the first decider of a fresh table was killed).
                await sa.app.producer.flush()
                return found
            async for rec in read_tail(settings, STORIES.name, mark.ends):
                got = sent_record(rec.headers, rec.value, sequence)
                if got is not None and got[0] > mark.seq:
                    found[got[0]] = got[1]
        except Exception:  # not fatal: without it a decision may be sent twice, not lost
            log.exception("could not read back newswire.stories; decisions may repeat")
        return found

    def sent_before(state: _Sequence, seq: int, article_id: str) -> bool:
        if seq <= SentMark.decode(state.decider.base.progress.get(SENT_KEY)).seq:
            return True
        if state.sent_here.get(seq) == article_id:
            return True
        return state.found_sent is not None and state.found_sent.get(seq) == article_id

    async def _forget(*_: Any, **__: Any) -> None:
        for state in states.values():
            state.forget()

    sa.app.on_partitions_revoked.connect(_forget)

    # Every hop acknowledges its records in order once their outputs are on the broker,
    # without waiting a round trip per record (OrderedAcks): an article makes ~20
    # records on its way through, most of them small.
    @sa.app.agent(sa.topic(ENRICHED.name), name="route-articles")
    async def route_articles(stream: Any) -> Any:
        manual = stream.noack()
        acks = sa.ordered_acks(manual)
        async for event in manual.events():
            outputs = await sa.handle(
                event, partial(route, config=config, limit=settings.kafka.max_message_bytes)
            )
            # Counted out when decided: the hops are internal.
            await acks.add([event], await sa.send_soon(outputs))
            yield event.message.offset

    def floor_of(sequence: int) -> int:
        """The decider's floor for the sequence's questions (Decider.floor), when this
        worker holds the decider: Faust assigns the sequence's partition of the sequence
        and answers topics (co-partitioned: the same count, the same subscribers)
        together. 0 otherwise (a rebalance can part them for a while): the keys these
        questions touch then keep everything up to their ceiling (`lsh.CEILING_FACTOR`).
        No floor at all would trim them to their latest postings, and a question still
        undecided, asked again, could then lose what its first answer found (a two-worker
        kill test saw a near copy take a copy of its original for the original)."""
        if TP(DEDUP_ANSWERS.name, sequence) not in sa.app.assignor.assigned_actives():
            return 0
        return state_of(sequence).decider.floor()

    @sa.app.agent(sa.topic(DEDUP_SEQUENCE.name), name="ask-lookups")
    async def ask_lookups(stream: Any) -> Any:
        manual = stream.noack()
        acks = sa.ordered_acks(manual)
        async for event in manual.events():
            seq, sequence = event.message.offset, event.message.partition
            outputs = await sa.handle(
                event,
                partial(
                    ask,
                    seq=seq,
                    partitions=lookup_partitions,
                    clock=clocks[sequence],
                    sequence=sequence,
                    floor=floor_of(sequence),
                    versions=versions[sequence],
                ),
                counted=False,
            )
            await acks.add([event], await sa.send_soon(outputs))
            yield seq

    withholding: list[asyncio.Task[None]] = []  # faults.ANSWERS_WITHHELD, once armed

    async def die_withholding() -> None:
        await asyncio.sleep(faults.WITHHELD_SECONDS)
        await sa.app.producer.flush()  # the tables' writes reach their changelogs
        faults.reached(faults.ANSWERS_WITHHELD)

    @sa.app.agent(sa.topic(DEDUP_LOOKUPS.name), name="answer-lookups")
    async def answer_lookups(stream: Any) -> Any:
        manual = stream.noack()
        acks = sa.ordered_acks(manual)
        async for event in manual.events():
            before = partial(sweeps.lookups, partition=event.message.partition)
            outputs = await sa.handle(
                event, partial(answer, lookups=lookups, before=before), counted=False
            )
            if faults.ANSWERS_WITHHELD in faults.armed():
                # Filed, neither answered nor acknowledged: read again after the death.
                if not withholding:
                    withholding.append(asyncio.ensure_future(die_withholding()))
                yield event.message.offset
                continue
            await acks.add([event], await sa.send_soon(outputs))
            yield event.message.offset

    async def finish(acks: OrderedAcks, ready: Ready[Any], sequence: int) -> None:
        article_id = ready.record.article.id
        state = state_of(sequence)

        def decide(_: bytes | None) -> Any:
            if ready.decided and sent_before(state, ready.seq, article_id):
                return []  # decided and its record on the broker before a restart
            outputs = verdict(ready, state.decider, sequence)
            if not ready.decided:
                sweeps.decider(sequence, state.decider)
                if sent_before(state, ready.seq, article_id):
                    # Its record reached the topic, its decision's writes did not reach
                    # the changelog: decided again (the same way), not sent again.
                    return []
            return outputs

        # Every record of the article carries its trace context: any one's headers put
        # the decision in the article's trace (without them, a batch released at once
        # would start traces of their own).
        headers = ready.tokens[0].message.headers if ready.tokens else None
        source = Source(DEDUP_ANSWERS.name, sequence, None, str(ready.seq).encode(), headers)
        outputs = await sa.stage.handle(source, encode(ready.record), decide, counted=False)
        futures = await sa.send_soon(outputs)
        if outputs:
            state.sent_here[ready.seq] = article_id
        state.sending.append((ready.seq, futures))
        await acks.done(ready.tokens, futures)
        sa.stage.count_out(outputs)

    @sa.app.agent(sa.topic(DEDUP_ANSWERS.name), name="decide-stories")
    async def decide_stories(stream: Any) -> Any:
        # A record is acknowledged when its article is decided, not when it is read. With
        # more than one sequence on a worker, in the order read across them: an article
        # waiting for answers in one delays the other's commits, not its decisions.
        manual = stream.noack()
        acks = sa.ordered_acks(manual)
        async for event in manual.events():
            sequence = event.message.partition
            state = state_of(sequence)
            if state.found_sent is None:
                state.found_sent = await find_sent(sequence)
            note_sent(state)
            acks.read(event)  # acknowledged in this order, whenever its article is decided
            try:
                got = decode(DedupAnswer, event.value)
            except DecodeError:
                outputs = await sa.handle(event, checked_answer, counted=False)
                await acks.done([event], await sa.send_soon(outputs))
                continue
            generation = acks.generation
            ready, done = state.gatherer.offer(got, event)
            if done:
                await acks.done(done, [])
            for article in ready:
                if acks.generation != generation:
                    break  # revoked meanwhile: the new owner decides these
                await finish(acks, article, sequence)
            yield event.message.offset

    return sa


class Prefixed(MutableMapping[str, Any]):
    """One store's entries in a shared table, under a key prefix (text stored as UTF-8)."""

    def __init__(self, table: Any, prefix: str, *, binary: bool) -> None:
        self.table, self.prefix, self.binary = table, prefix, binary

    def __getitem__(self, key: str) -> Any:
        raw = self.table[self.prefix + key]
        return raw if self.binary else raw.decode()

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.table.get(self.prefix + key)
        if raw is None:
            return default
        return raw if self.binary else raw.decode()

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[self.prefix + key] = value if self.binary else value.encode()

    def __delitem__(self, key: str) -> None:
        del self.table[self.prefix + key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.prefix + key in self.table

    def __iter__(self) -> Iterator[str]:
        n = len(self.prefix)
        return (k[n:] for k in list(self.table.keys()) if k.startswith(self.prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)
