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
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.common import metrics
from services.common.errors import NewswireError
from services.common.models import DeadLetter, encode
from services.common.topics import BY_NAME, DLQ

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None


@dataclass(frozen=True)
class Source:
    """Where a record came from, for dead-letter records."""

    topic: str | None
    partition: int | None
    offset: int | None
    key: bytes | None


Handler = Callable[[bytes | None], Sequence[Output]]


def dead_letter(stage: str, source: Source, value: bytes | None, exc: BaseException) -> Output:
    reason = exc.reason if isinstance(exc, NewswireError) else "internal"
    key_text = source.key.decode("utf-8", "replace") if source.key is not None else None
    record = DeadLetter(
        stage=stage,
        reason=reason,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        key=key_text,
        original_b64=base64.b64encode(value or b"").decode("ascii"),
    )
    return Output(DLQ.name, source.key, encode(record))


class Stage:
    """Counts, times and dead-letters one stage's records."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def handle(
        self,
        source: Source,
        value: bytes | None,
        fn: Callable[[bytes | None], Sequence[Output] | Awaitable[Sequence[Output]]],
        *,
        offload: bool = False,
        counted: bool = True,
    ) -> list[Output]:
        """Apply `fn` to one record; any failure becomes a DLQ record instead of an exception.

        offload=True runs a CPU-heavy synchronous `fn` in a thread so the event
        loop keeps heartbeating to the group coordinator meanwhile. counted=False is
        for a stage's internal steps (re-keying, scheduling) so that records in and
        out describe the stage as its users see it.
        """
        if counted:
            metrics.RECORDS_IN.labels(self.name).inc()
        started = time.perf_counter()
        try:
            if offload:
                result: Any = await asyncio.to_thread(fn, value)
            else:
                result = fn(value)
                if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                    result = await result
            outputs = list(result)
        except Exception as exc:  # a stage never crashes on input
            reason = exc.reason if isinstance(exc, NewswireError) else "internal"
            if reason == "internal":
                log.exception("%s: unexpected failure on %s", self.name, source)
            else:
                log.warning("%s: %s on %s: %s", self.name, reason, source, exc)
            metrics.RECORDS_FAILED.labels(self.name, reason).inc()
            metrics.DLQ_RECORDS.labels(self.name, reason).inc()
            outputs = [dead_letter(self.name, source, value, exc)]
        finally:
            metrics.PROCESSING_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        return outputs

    def count_out(self, outputs: Sequence[Output]) -> None:
        produced = sum(1 for o in outputs if o.topic != DLQ.name and not BY_NAME[o.topic].internal)
        if produced:
            metrics.RECORDS_OUT.labels(self.name).inc(produced)
