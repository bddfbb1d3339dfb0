"""Named points where a test can make a service die at once, as a crash or an OOM kill
would: between two steps whose order decides whether a record can be lost.

Off unless NEWSWIRE_FAULT_INJECT names the point (`arm` is called with that setting
when a service is built). A dead process must not flush, commit or run finally
blocks, so the exit is `os._exit`, with the code a SIGKILLed process reports.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

EXIT_CODE = 137  # 128 + SIGKILL
# A fetcher poll that found new entries: they are on the broker, the feed's state (which
# marks them seen) is not yet written.
POLL_SENT = "fetcher.poll.entries-sent"

# The dedup decider: an article's story records are on the broker, the note saying so
# (the decider table's "sent" mark) is not yet written.
STORIES_SENT = "dedup.decide.stories-sent"

# The dedup lookups' holder: its answers stop reaching the broker while its tables' writes
# still do (as a producer stuck on the answers topic would), then, WITHHELD_SECONDS after
# the first answer held back and with the table writes flushed, it dies: restarted, it
# answers those questions again from postings later articles have filed into.
ANSWERS_WITHHELD = "dedup.answer.answers-withheld"
WITHHELD_SECONDS = 5.0

# Not a death: the consumer stops fetching each partition after handing out its first
# record, as faust-streaming's flow control was seen doing (services.common.stallwatch).
LOSE_PARTITION = "consumer.lose-partition"
# Not a death either: the fetch loop drops every record of a partition after its first.
SKIP_RECORDS = "consumer.skip-records"

_armed: frozenset[str] = frozenset()


def arm(points: str) -> None:
    """Arm the comma-separated `points` (and disarm every other)."""
    global _armed
    _armed = frozenset(p.strip() for p in points.split(",") if p.strip())
    if _armed:
        log.warning("fault injection armed at %s", ", ".join(sorted(_armed)))


def armed() -> frozenset[str]:
    return _armed


def reached(point: str) -> None:
    """Die here if `point` is armed."""
    if point in _armed:
        log.critical("fault injection: dying at %s", point)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os._exit(EXIT_CODE)
