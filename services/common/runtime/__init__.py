"""Newswire's Faust runtime: faust-streaming 0.15 and aiokafka 0.14 made safe for
at-least-once (and exactly_once) processing, behind one seam.

`App` (app.py) is faust.App with every fix installed through Faust's own extension
points (its transport's Consumer, Producer and TransactionManager, its Stream and
TableManager classes, its stream-buffer queue and flow control); nothing is patched at
import, and building it checks that the installed libraries are the exact releases the
fixes were written for (versions.py). The fixes, what found them, and what upstream
change would let each go:

- consumer.py, the seek back and the commit bookkeeping. Found by the fetcher's
  two-replica test (a replica kept some partitions through a rebalance and never saw
  some records again), the cleaner's restart test (a restarted worker consumed nothing)
  and dedup's two-worker test (a hop's commits moved one record per interval). Goes when
  aiokafka's `seek_to_committed` seeks partitions with nothing (or 0) committed, and
  faust-streaming's acknowledgement rework (its `_new_offset`/gap bookkeeping, tracked
  upstream as the "acks"/`_new_offset` issues) no longer fills gaps before records are
  processed nor counts offsets twice.
- flow.py, the stream buffers. Resuming the flow no longer empties the buffers (goes
  when Faust stops clearing on the last resume of a recovery), and every held-back
  partition is fetched again at the low mark, not one (goes when mode's
  `FlowControlQueue` calls all its pressure-drop callbacks).
- recovery.py, table recovery ending at changelogs whose last offsets are transaction
  markers, in any worker (goes when Faust's `detect_aborted_tx` handling applies to
  at-least-once workers reading exactly_once changelogs).
- transactions.py, exactly_once routed by the record being processed, not the output's
  destination (goes when faust-streaming does that, or aiokafka's consumer-driven
  transactions replace Faust's manager).

Beside them, what else reaches into Faust or aiokafka: acks.py (`OrderedAcks`, for agents
that acknowledge by hand: goes when Faust's acknowledgements no longer fill gaps, above;
and `HOLDING_RECORDS`, the app options of services whose agents do), fenced.py (a table
partition that work begun before a rebalance can no longer write),
probe.py (the consumer state the stall watch and the lag probe read, and the client
calls made in the consumer's thread: a committed offset's metadata, a position, a commit
carrying the offsets done past it). The stall watch (services.common.stallwatch, faustapp)
repairs with `refetch`.
"""

from services.common.runtime.app import App
from services.common.runtime.consumer import (
    handed_out,
    held_back_drained,
    out_of_fetch,
    refetch,
    seek_to_committed_or_beginning,
)
from services.common.runtime.transactions import EXACTLY_ONCE_NOACK

__all__ = [
    "EXACTLY_ONCE_NOACK",
    "App",
    "handed_out",
    "held_back_drained",
    "out_of_fetch",
    "refetch",
    "seek_to_committed_or_beginning",
]
