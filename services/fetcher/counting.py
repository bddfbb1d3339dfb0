"""The counters the fetcher's transforms name in their counts.

The transforms (pipeline) only say what happened; `Stage.settle` turns the names
into these Prometheus counters (services.common.metrics).
"""

from __future__ import annotations

from collections.abc import Mapping

from services.common import metrics
from services.common.stage import Countable

COUNTERS: Mapping[str, Countable] = {
    "feed_polls_stale": metrics.FEED_POLLS_STALE,
    "fetch_not_modified": metrics.FETCH_NOT_MODIFIED,
    "fetch_unchanged": metrics.FETCH_UNCHANGED,
    "feed_entries_new": metrics.FEED_ENTRIES_NEW,
    "feed_poll_errors": metrics.FEED_POLL_ERRORS,
    "feed_fallbacks": metrics.FEED_FALLBACKS,
}
