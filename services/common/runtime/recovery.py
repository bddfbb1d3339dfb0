"""Table recovery that also ends at changelogs whose last offsets are transaction markers.

Installed as the app's TableManager (app.py).
"""

from __future__ import annotations

from typing import Any

from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import Recovery
from faust.types import TP
from mode import Service

from services.common.runtime.offsets import markers_only_left

# A changelog written by an exactly_once worker ends each transaction with a marker: an
# offset of its own that no consumer ever receives. Faust's recovery is done when every
# active changelog partition's last record seen reaches "highwater - 1", the log's last
# offset; when that offset is a marker, it never is. Faust makes up for it
# (detect_aborted_tx) only in a worker that runs exactly_once itself, after two 5 s waits
# for more records: a worker switched back to at_least_once stayed in recovery for good.


#: How often a recovery looks for partitions read to their end past their last record.
MARKER_CHECK_S = 1.0


class MarkerAwareRecovery(Recovery):
    """Faust's table recovery, which also ends at changelog partitions whose last offsets
    are transaction markers, whatever the worker's processing guarantee.

    The consumer's position is past the markers as soon as it has fetched them (aiokafka
    skips control batches at any isolation level). Records it handed to Faust before may
    still be on their way to the table, so a partition counts as read only when two
    checks in a row find its position past the end, no new record seen meanwhile and the
    changelog queue empty. Its last seen offset is then set to the last offset, and
    Faust's own check (on its next record or 5 s wait) ends the recovery.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_to_end: dict[TP, tuple[int, int]] = {}  # tp -> (seen, position)

    @Service.task
    async def _skip_trailing_markers(self) -> None:
        while not self.should_stop:
            await self.sleep(MARKER_CHECK_S)
            if not self.in_recovery:
                self._read_to_end.clear()
                continue
            try:
                await self._check_read_to_end()
            except Exception as exc:  # a rebalance under way, say: the next round sees
                self.log.debug("changelog end check failed: %r", exc)

    async def _check_read_to_end(self) -> None:
        consumer = self.app.consumer
        offsets = self.active_offsets
        for tp, last in list(self.active_highwaters.items()):
            seen = offsets.get(tp)
            if seen is None or last is None or seen >= last:
                self._read_to_end.pop(tp, None)
                continue
            position = await consumer.position(tp)
            if not markers_only_left(last, seen, position):
                self._read_to_end.pop(tp, None)
                continue
            assert position is not None
            queue_empty = self.tables.changelog_queue.empty()
            if queue_empty and self._read_to_end.get(tp) == (seen, position):
                self.log.info(
                    "%s read to its end: offsets %d..%d are transaction markers", tp, seen + 1, last
                )
                offsets[tp] = last
                self._read_to_end.pop(tp, None)
            else:
                self._read_to_end[tp] = (seen, position)


class TableManager(FaustTableManager):
    """Faust's table manager with the recovery above."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = MarkerAwareRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
