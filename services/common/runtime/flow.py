"""Faust's stream-buffer flow control, with two holes closed.

1. Faust empties the stream buffers on every flow resume, including the last one of a
   recovery, which comes *after* the seek to committed offsets: records fetched in
   between were counted as read and thrown away. Revocation empties the buffers
   explicitly, so resuming does not need to (`KeepBuffersOnResume`).
2. A partition whose records arrive while its stream buffer is above the high mark is
   no longer fetched; at the low mark mode's queue fetched **one** of the held-back
   partitions again (`set.pop()`), which refilled the buffer before the next was called,
   and `set.pop()` kept naming the same one. In `make soak`'s burst three of the
   enricher's four partitions were not fetched for 11 minutes (Faust: "Stream stopped
   processing, or is slow ... last inbound 11 minutes ago"). Here all of them are
   (`Queue.maybe_endorse_pressure_drop`).
"""

from __future__ import annotations

from mode.utils.queues import FlowControlEvent, ThrowableQueue


class KeepBuffersOnResume(FlowControlEvent):
    """Faust's flow control, except that resuming does not empty the stream buffers."""

    def resume(self) -> None:
        self._suspend.clear()
        self._resume.set()


class Queue(ThrowableQueue):  # type: ignore[type-arg]
    """The stream buffer: fetches every partition held back for it again once it has
    drained to its low mark, not one of them."""

    def maybe_endorse_pressure_drop(self) -> None:
        pending = self._pending_pressure_drop_callbacks
        if pending and self.qsize() <= self.pressure_drop_size:
            callbacks = list(pending)
            pending.clear()
            for callback in callbacks:
                callback()
            self.on_pressure_drop()
