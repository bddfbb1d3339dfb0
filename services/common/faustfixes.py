"""Two workarounds for faust-streaming 0.15 losing records around a rebalance.

Both were found through the fetcher's two-replica test (a replica that kept some
partitions in a rebalance never saw some of its poll commands again; about half of
the runs failed) and the cleaner's restart test (a restarted worker consumed
nothing). Faust's design is: whatever it fetched but did not hand to a stream is
dropped, and a seek back to the committed offsets fetches it again. The two holes:

1. aiokafka's ``seek_to_committed`` does not seek a partition whose committed offset
   is None (nothing committed yet, e.g. in the first seconds of a new group) or 0.
   Faust's "seek back" was then a no-op: records drained from aiokafka while the
   flow was stopped stayed skipped, and later commits could even jump past them.
   Here a partition with no committed offset goes back to the beginning, which is
   what a new consumer does with ``auto_offset_reset="earliest"`` (the StageApp
   setting), and offset 0 is a real seek target.
2. Faust empties the stream buffers on every flow resume, including the last one
   of a recovery, which comes *after* the seek to committed offsets. Records
   fetched in between were counted as read and thrown away. Revocation empties the
   buffers explicitly, so resuming does not need to: records buffered after the
   seek belong to the new assignment and are kept.

At worst a record is processed twice (at-least-once), never skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent


async def seek_to_committed_or_beginning(consumer: Any) -> dict[Any, int | None]:
    """Seek every assigned partition to its committed offset, or to its start if none."""
    committed: dict[Any, int | None] = {}
    for tp in consumer.assignment():
        offset = await consumer.committed(tp)
        committed[tp] = offset
        if offset is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)
    return committed


async def _thread_seek_to_committed(self: Any) -> Mapping[Any, int | None]:
    return await self.call_thread(seek_to_committed_or_beginning, self._ensure_consumer())  # type: ignore[no-any-return]


faust_aiokafka.AIOKafkaConsumerThread.seek_to_committed = _thread_seek_to_committed  # type: ignore[assignment]


class KeepBuffersOnResume(FlowControlEvent):
    """Faust's flow control, except that resuming does not empty the stream buffers."""

    def resume(self) -> None:
        self._suspend.clear()
        self._resume.set()


class App(faust.App):
    """faust.App with the flow control above."""

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepBuffersOnResume(loop=self.loop)
