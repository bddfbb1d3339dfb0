"""Dedup's hops as functions from one record to the records it produces.

    newswire.enriched --route--> newswire.dedup-sequence (a partition per decision
        sequence, scope.py; offset = seq)
      --ask--> newswire.dedup-lookups (keyed by URL key, content hash, band key)
               + the head on newswire.dedup-answers (the sequence's partition)
      --answer--> newswire.dedup-answers (the asking sequence's partition)
      --gather + verdict--> newswire.stories

No Faust here: app.py wires these to agents and tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from services.common import metrics
from services.common.errors import NewswireError, SchemaError
from services.common.models import (
    SCHEMA_VERSION,
    DedupAnswer,
    DedupLookup,
    DedupPrep,
    DedupQuestion,
    Enriched,
    Story,
    decode,
    encode,
    utcnow,
)
from services.common.stage import Output
from services.common.topics import (
    DEDUP_ANSWERS,
    DEDUP_LOOKUPS,
    DEDUP_SEQUENCE,
    STORIES,
    partition_for,
)
from services.dedup.clock import StreamClock
from services.dedup.config import DedupConfig
from services.dedup.engine import (
    Answers,
    Decider,
    Item,
    Prepared,
    Result,
    prepare,
    questions,
    sequence_of_item,
)
from services.dedup.gather import Ready
from services.dedup.lookups import Lookups, Question
from services.dedup.scope import lookup_key
from services.dedup.sent import seq_header
from services.dedup.versions import Versions

STAGE = "dedup"

# What a gathered article is acknowledged by (Faust events; plain numbers in tests).
Token = TypeVar("Token")


def item_of(article: Enriched) -> Item:
    return Item(
        id=article.id,
        text=article.text,
        url=article.url,
        canonical_url=article.canonical_url,
        title=article.title,
        published=article.published,
        # No names (another language, or NER off): the engine's capitalised-phrase guess.
        entities=[e.text for e in article.entities] or None,
        language=article.language,
        site=article.site,
        feed_url=article.feed_url,
    )


def arrival(article: Enriched) -> datetime:
    """When the article reached the pipeline: its fetch (or archive capture) time, which
    moves the stream's clock that retention counts in (engine.prepare).

    The fetch time, not the clock: a record replayed after a crash gets the same day.
    Never later than now: one bad capture time must not age everything else out.
    """
    now = utcnow()
    fetched = article.trace.fetched_at
    return now if fetched is None or fetched > now else fetched


# Room the answers topic's envelope around a sequenced record needs (its head record).
HEAD_MARGIN_BYTES = 4096


class SequencedPrep(BaseModel):
    """A sequence record as the hops that need only its keys read it: the article's
    bytes are skipped by the JSON parser, not turned into objects and back."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    prep: DedupPrep


def _sequenced(prep: DedupPrep, article: bytes) -> bytes:
    """A DedupSequenced record around an article's own bytes (already decoded and
    checked by whoever calls this): what `encode(DedupSequenced(...))` holds, without
    writing the article out again."""
    return b'{"schema_version":%d,"prep":%s,"article":%s}' % (
        SCHEMA_VERSION,
        prep.model_dump_json().encode(),
        article,
    )


def _head(seq: int, expect: int, day: int, record: bytes) -> bytes:
    """A DedupAnswer head around a sequence record's own bytes (decoded as `SequencedPrep`:
    one JSON object); the decider decodes it whole, once."""
    return b'{"schema_version":%d,"seq":%d,"kind":"head","lookups":[],"expect":%d,' % (
        SCHEMA_VERSION,
        seq,
        expect,
    ) + b'"record":%s,"day":%d}' % (record, day)


def route(raw: bytes | None, config: DedupConfig, limit: int | None = None) -> list[Output]:
    """Check the record and compute its keys and features (in parallel, per partition of
    newswire.enriched), then queue it in the decision sequence of its scope.

    `limit`: the topics' largest record. The sequence record (the article and its
    features) and the head that carries it must fit, or the send would fail for good."""
    article = decode(Enriched, raw)
    assert raw is not None  # decode refuses None
    item = item_of(article)
    prep = prepare(item, config, now=arrival(article))
    value = _sequenced(DedupPrep(**prep.to_json()), raw)
    if limit is not None and len(value) > limit - HEAD_MARGIN_BYTES:
        raise NewswireError(
            f"article {article.id} with its dedup features is {len(value)} bytes, "
            f"over the {limit - HEAD_MARGIN_BYTES} a dedup record may take",
            reason="too_large",
        )
    sequence = sequence_of_item(item, config, prep.language)
    return [Output(DEDUP_SEQUENCE.name, article.id.encode(), value, partition=sequence)]


def ask(
    raw: bytes | None,
    seq: int,
    partitions: int,
    clock: StreamClock,
    sequence: int = 0,
    floor: int | None = None,
    versions: Versions | None = None,
) -> list[Output]:
    """The article at sequence number `seq` of decision sequence `sequence`: its lookups,
    one record per partition of newswire.dedup-lookups holding some of its keys, and its
    head; both carry the stream's day at the article, which retention counts against
    everywhere. The lookups carry `floor`, the lowest sequence number the decider has
    not decided (None: not known here), below which their keys may be trimmed. A replay
    of its URL's latest version (told by `versions`) asks only its URL question."""
    record = decode(SequencedPrep, raw)
    assert raw is not None  # decode refuses None
    prep = Prepared.from_json(record.prep.model_dump())
    day = clock.day_at(seq, prep.day)
    replay = versions is not None and versions.replay(
        prep.url_key, prep.digest, prep.id, seq, day, floor
    )
    asked = questions(prep, seq, day, replay=replay)
    by_partition: dict[int, list[DedupLookup]] = {}
    for q in asked:
        by_partition.setdefault(partition_for(lookup_key(sequence, q.key), partitions), []).append(
            DedupLookup(kind=q.kind, key=q.key)
        )
    outputs = [
        Output(
            DEDUP_LOOKUPS.name,
            str(seq).encode(),
            encode(
                DedupQuestion(seq=seq, day=day, lookups=lookups, sequence=sequence, floor=floor)
            ),
            partition=partition,
        )
        for partition, lookups in sorted(by_partition.items())
    ]
    # The article rides along to the decider as it came, unparsed here: this hop needs
    # only its keys.
    head = _head(seq, len(asked), day, raw)
    outputs.append(Output(DEDUP_ANSWERS.name, str(seq).encode(), head, partition=sequence))
    return outputs


def answer(
    raw: bytes | None, lookups: Lookups, before: Callable[[int], None] | None = None
) -> list[Output]:
    """The answers to one record of lookups; `before` is called with the question's day
    first (the agent sweeps expired entries)."""
    q = decode(DedupQuestion, raw)
    if before is not None:
        before(q.day)
    # Filed under the sequence's own keys, answered under the article's.
    found = [
        lookups.answer(
            Question(q.seq, one.kind, lookup_key(q.sequence, one.key), q.day, q.floor)
        ).found
        for one in q.lookups
    ]
    reply = DedupAnswer(
        seq=q.seq,
        kind="answers",
        lookups=[
            DedupLookup(kind=one.kind, key=one.key, found=list(got))
            for one, got in zip(q.lookups, found, strict=True)
        ],
    )
    return [Output(DEDUP_ANSWERS.name, str(q.seq).encode(), encode(reply), partition=q.sequence)]


def checked_answer(raw: bytes | None) -> list[Output]:
    """A record of newswire.dedup-answers, checked: it has no outputs of its own (the
    decider gathers it); one that does not decode raises, and is dead-lettered."""
    decode(DedupAnswer, raw)
    return []


def verdict(ready: Ready[Token], decider: Decider, sequence: int = 0) -> list[Output]:
    """The story record of a gathered article: decided now, or again for a redelivery."""
    article = ready.record.article
    result: Result | None
    if ready.decided:
        result = decider.decided(ready.seq)
        if result is None:  # decided so long ago that its outcome expired: nothing to redo
            return []
    else:
        prep = Prepared.from_json(ready.record.prep.model_dump())
        if prep.id != article.id:
            raise SchemaError(f"sequence record {ready.seq}: prep for {prep.id}, not {article.id}")
        answers = Answers.gather(prep, ready.answers)
        result = decider.decide(ready.seq, prep, answers, ready.day)
        if result.replay:
            metrics.DEDUP_REPLAYS.inc()
        else:
            metrics.DEDUP_VERDICTS.labels(result.verdict).inc()
        if result.match == "near" and result.containment is not None:
            metrics.DEDUP_SIMILARITY.observe(result.containment)
    if result.replay:
        # Its story record is on the topic already (its first arrival was acknowledged
        # only once that record was): the stories topic carries every article once, so
        # work redone upstream (a restart, a feed listing it again) adds nothing there.
        return []
    now = utcnow()
    story = story_record(article, result, now)
    _observe_latency(article.trace.fetched_at, now)
    return [
        Output(
            STORIES.name,
            story.story_id.encode(),
            encode(story),
            headers=seq_header(ready.seq, sequence),
        )
    ]


def story_record(article: Enriched, result: Result, now: datetime) -> Story:
    return Story(
        story_id=result.story_id,
        article_id=article.id,
        verdict=result.verdict,
        duplicate_of=result.duplicate_of,
        version=result.version,
        size_change=result.size_change,
        match=result.match,
        similarity=result.similarity,
        containment=result.containment,
        content_hash=result.content_hash,
        decided_at=now,
        article=article.model_copy(update={"trace": article.trace.stamped(STAGE, now)}),
    )


def _observe_latency(fetched_at: datetime | None, now: datetime) -> None:
    if fetched_at is not None:
        metrics.END_TO_END_SECONDS.observe(max(0.0, (now - fetched_at).total_seconds()))
