"""What every stage does around its pure function: count, time, dead-letter, produce.

An agent decodes nothing itself: it hands each event's bytes to `Stage.handle`
with the pure function to apply, then sends what comes back. Sending awaits the
broker's acknowledgement inside the agent's loop, and Faust acks (and later
commits) an event only after the loop body for it finished, so an offset is
never committed before the output it caused is on the broker.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.common import metrics, tracing
from services.common.errors import NewswireError, RecordTooLargeError
from services.common.logging import ARTICLE_ID
from services.common.models import DeadLetter, encode
from services.common.topics import BY_NAME, DLQ, STORIES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    # Kafka record headers: what a stage needs to find its own records again (dedup),
    # and the trace context (added by Stage.handle when tracing).
    headers: tuple[tuple[str, bytes], ...] = ()


def article_key(source: Source) -> str | None:
    """The article id a record is keyed by, on the topics keyed by article id."""
    spec = BY_NAME.get(source.topic or "")
    if spec is None or spec.key != "article id" or not source.key:
        return None
    return source.key.decode("utf-8", "replace")


@dataclass(frozen=True)
class Source:
    """Where a record came from, for dead-letter records."""

    topic: str | None
    partition: int | None
    offset: int | None
    key: bytes | None
    # The record's Kafka headers (its trace context); None: not known here, and the
    # stage's `find_headers` may know them.
    headers: tracing.KafkaHeaders | None = dataclasses.field(
        default=None, compare=False, repr=False
    )


@dataclass(frozen=True)
class Failure:
    """A part of a record's handling that failed while the rest went on (a feed poll that
    failed and keeps its feed scheduled, a page taken from the feed instead): the stage
    dead-letters it in its place among the outputs and counts it."""

    exc: Exception
    # Where it came from when not the record being handled (the feed of a poll command).
    source: Source | None = None
    # Logged by the stage with this note; None: the transform logged it itself.
    note: str | None = None


class Counts(Counter[tuple[str, ...]]):
    """What a transform counted: (counter name, *label values) -> amount."""

    def add(self, name: str, *labels: str, n: int = 1) -> None:
        self[(name, *labels)] += n


@dataclass(frozen=True)
class Outcome:
    """A transform's outputs (failures in their places among them) and its counts, which
    the stage applies to the counters it was given."""

    outputs: Sequence[Output | Failure] = ()
    counts: Counts = field(default_factory=Counts)


class Countable(Protocol):
    """A Prometheus counter, labelled or not."""

    def labels(self, *values: str) -> Countable: ...

    def inc(self, amount: float = 1) -> None: ...


# What a transform gives for one record: its outputs, with failures among them, or an
# Outcome that adds counts.
Result = Sequence[Output] | Sequence[Output | Failure] | Outcome
# A stage's transform: a record's value in, its result out (or a coroutine giving it,
# for transforms that wait on the network, like the fetcher's).
Handler = Callable[[bytes | None], Result | Awaitable[Result]]


def dead_letter(
    stage: str,
    source: Source,
    value: bytes | None,
    exc: BaseException,
    *,
    max_bytes: int | None = None,
) -> Output:
    """The DLQ record for `value`; with `max_bytes`, the original is cut to its head so
    that the record fits (base64 adds a third: a page near the limit would not)."""
    reason = exc.reason if isinstance(exc, NewswireError) else "internal"
    key_text = source.key.decode("utf-8", "replace") if source.key is not None else None
    original = value or b""
    record = DeadLetter(
        stage=stage,
        reason=reason,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        key=key_text,
        original_b64=base64.b64encode(original).decode("ascii"),
        original_bytes=len(original),
    )
    encoded = encode(record)
    size = len(encoded) + len(source.key or b"")
    if max_bytes is not None and size > max_bytes:
        # base64 is plain ASCII in JSON, so the record shrinks by exactly what it loses.
        room = max(0, max_bytes - (size - len(record.original_b64)))
        record.original_b64 = base64.b64encode(original[: room // 4 * 3]).decode("ascii")
        record.original_truncated = True
        encoded = encode(record)
    return Output(DLQ.name, source.key, encoded)


def check_sizes(outputs: Sequence[Output], max_bytes: int) -> None:
    """RecordTooLargeError if an output would not fit in one broker message: caught here
    it becomes a DLQ record; at send time it would stop the agent instead."""
    for out in outputs:
        size = len(out.key or b"") + len(out.value or b"")
        if size > max_bytes:
            raise RecordTooLargeError(
                f"{out.topic} record of {size} bytes exceeds the {max_bytes}-byte limit"
            )


# What a record needs besides its key and value (lengths, timestamp, headers, and its
# share of the batch header), so a key and value within the limit minus this fit.
RECORD_OVERHEAD = 1024


class Stage:
    """Counts, times and dead-letters one stage's records.

    With `max_message_bytes` (the producer's and topics' limit), an output that would
    not fit is dead-lettered with reason `too_large` instead of failing at send.
    """

    def __init__(
        self,
        name: str,
        *,
        max_message_bytes: int | None = None,
        counters: Mapping[str, Countable] | None = None,
    ) -> None:
        self.name = name
        # The counters an `Outcome`'s counts name (services.common.metrics.COUNTED).
        self.counters: Mapping[str, Countable] = metrics.COUNTED if counters is None else counters
        self.max_record_bytes = (
            max_message_bytes - RECORD_OVERHEAD if max_message_bytes is not None else None
        )
        # Where the headers of a record handed over without them may be found (the Faust
        # event being processed: services.common.faustapp); asked only when tracing.
        self.find_headers: Callable[[Source], tracing.KafkaHeaders | None] | None = None

    def handle(
        self,
        source: Source,
        value: bytes | None,
        fn: Handler,
        *,
        offload: bool = False,
        counted: bool = True,
    ) -> Coroutine[Any, Any, list[Output]]:
        """Apply `fn` to one record; any failure becomes a DLQ record instead of an exception.

        offload=True runs a CPU-heavy synchronous `fn` in a thread so the event
        loop keeps heartbeating to the group coordinator meanwhile. counted=False is
        for a stage's internal steps (re-keying, scheduling) so that records in and
        out describe the stage as its users see it.

        When tracing, the handling is a span (child of the trace in the record's
        headers) and every output carries its context, unless it starts a trace of its
        own (the fetcher's entries).
        """
        # Not a coroutine itself: with tracing off the caller awaits `_handle` directly,
        # and the only cost of traces is this check.
        if not tracing.enabled():
            return self._handle(
                source, value, fn, article_key(source), offload=offload, counted=counted
            )
        return self._handle_traced(source, value, fn, offload=offload, counted=counted)

    async def _handle_traced(
        self,
        source: Source,
        value: bytes | None,
        fn: Handler,
        *,
        offload: bool,
        counted: bool,
    ) -> list[Output]:
        headers = source.headers
        if headers is None and self.find_headers is not None:
            headers = self.find_headers(source)
        with tracing.stage_span(
            f"{self.name} {(source.topic or '').removeprefix('newswire.')}".rstrip(),
            stage=self.name,
            headers=headers,
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            article_id=article_key(source),
        ) as span:
            outputs = await self._handle(
                source, value, fn, tracing.current_article(), offload=offload, counted=counted
            )
            describe(span, outputs)
            carried = tracing.context_headers()
        return [
            out
            if tracing.has_context(out.headers)
            else dataclasses.replace(out, headers=out.headers + carried)
            for out in outputs
        ]

    async def _handle(
        self,
        source: Source,
        value: bytes | None,
        fn: Handler,
        article_id: str | None,
        *,
        offload: bool,
        counted: bool,
    ) -> list[Output]:
        if counted:
            metrics.RECORDS_IN.labels(self.name).inc()
        started = time.perf_counter()
        # Every line logged while this record is handled names its article (JSON logs).
        context = ARTICLE_ID.set(article_id)
        try:
            if offload:
                result: Any = await asyncio.to_thread(fn, value)
            else:
                result = fn(value)
                if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                    result = await result
            outputs = self.settle(source, value, result, counted=counted)
            if self.max_record_bytes is not None:
                check_sizes(outputs, self.max_record_bytes)
        except Exception as exc:  # a stage never crashes on input
            reason = exc.reason if isinstance(exc, NewswireError) else "internal"
            if reason == "internal":
                log.exception("%s: unexpected failure on %s", self.name, source)
            else:
                log.warning("%s: %s on %s: %s", self.name, reason, source, exc)
            metrics.RECORDS_FAILED.labels(self.name, reason).inc()
            metrics.DLQ_RECORDS.labels(self.name, reason).inc()
            tracing.record_failure(exc, reason)
            outputs = [dead_letter(self.name, source, value, exc, max_bytes=self.max_record_bytes)]
        finally:
            metrics.PROCESSING_SECONDS.labels(self.name).observe(time.perf_counter() - started)
            ARTICLE_ID.reset(context)
        return outputs

    def settle(
        self, source: Source, value: bytes | None, result: Result, *, counted: bool = True
    ) -> list[Output]:
        """The records of what a transform returned: each `Failure` dead-lettered in its
        place and counted (in records failed when the record counts), an `Outcome`'s
        counts applied. Raises what a count names that the stage has no counter for."""
        items = result.outputs if isinstance(result, Outcome) else result
        outputs: list[Output] = []
        for item in items:
            if not isinstance(item, Failure):
                outputs.append(item)
                continue
            exc = item.exc
            reason = exc.reason if isinstance(exc, NewswireError) else "internal"
            where = item.source or source
            if item.note is not None:
                log.warning("%s: %s on %s: %s (%s)", self.name, reason, where, exc, item.note)
            if counted:
                metrics.RECORDS_FAILED.labels(self.name, reason).inc()
            metrics.DLQ_RECORDS.labels(self.name, reason).inc()
            outputs.append(
                dead_letter(self.name, where, value, exc, max_bytes=self.max_record_bytes)
            )
        if isinstance(result, Outcome):
            for (name, *labels), amount in result.counts.items():
                counter = self.counters[name]
                (counter.labels(*labels) if labels else counter).inc(amount)
        return outputs

    def count_out(self, outputs: Sequence[Output]) -> None:
        produced = sum(1 for o in outputs if o.topic != DLQ.name and not BY_NAME[o.topic].internal)
        if produced:
            metrics.RECORDS_OUT.labels(self.name).inc(produced)


def describe(span: tracing.Span, outputs: Sequence[Output]) -> None:
    """What a record's handling came to, on its span: the dedup verdict and story of a
    story record, the reasons of dead letters, the article id when only an output's key
    names it (the fetcher's page: its entry is keyed by host)."""
    attributes: dict[str, str] = {}
    reasons: set[str] = set()
    for out in outputs:
        spec = BY_NAME.get(out.topic)
        if out.topic == STORIES.name and out.value:
            story = json.loads(out.value)
            for field in ("verdict", "story_id", "article_id"):
                attributes[f"newswire.{field}"] = str(story.get(field))
        elif out.topic == DLQ.name and out.value:
            reasons.add(str(json.loads(out.value).get("reason")))
        elif out.key and spec is not None and spec.key == "article id":
            attributes.setdefault("newswire.article_id", out.key.decode("utf-8", "replace"))
    if reasons:
        attributes["newswire.dlq_reason"] = ",".join(sorted(reasons))
    tracing.annotate(span, attributes, failed=bool(reasons))
