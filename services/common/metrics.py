"""Every Prometheus metric Newswire exports, in one place (namespace `newswire`).

Call sites only observe. Label values come from fixed sets (stage, reason,
status class, verdict), never from URLs, so series stay bounded.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

# The *_created timestamp series double the series count and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

NAMESPACE = "newswire"
REGISTRY = CollectorRegistry(auto_describe=True)

STAGES = ("fetcher", "cleaner", "enricher", "dedup")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_E2E_SECONDS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

RECORDS_IN = Counter(
    "records_in", "Records a stage consumed.", ["stage"], namespace=NAMESPACE, registry=REGISTRY
)
RECORDS_OUT = Counter(
    "records_out",
    "Records a stage produced to its output topic.",
    ["stage"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
RECORDS_FAILED = Counter(
    "records_failed",
    "Records a stage could not handle (each also goes to the DLQ).",
    ["stage", "reason"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
PROCESSING_SECONDS = Histogram(
    "processing_seconds",
    "Time a stage spent on one record.",
    ["stage"],
    buckets=_SECONDS,
    namespace=NAMESPACE,
    registry=REGISTRY,
)
END_TO_END_SECONDS = Histogram(
    "end_to_end_latency_seconds",
    "Time from page fetch to the story verdict.",
    buckets=_E2E_SECONDS,
    namespace=NAMESPACE,
    registry=REGISTRY,
)
DLQ_RECORDS = Counter(
    "dlq_records",
    "Records sent to newswire.dlq.",
    ["stage", "reason"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FETCH_REQUESTS = Counter(
    "fetch_requests",
    "HTTP requests the fetcher made.",
    ["kind", "status_class"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FETCH_SECONDS = Histogram(
    "fetch_seconds",
    "Duration of one HTTP request (a redirect hop counts as one).",
    ["kind"],
    buckets=_SECONDS,
    namespace=NAMESPACE,
    registry=REGISTRY,
)
ROBOTS_REFUSALS = Counter(
    "robots_refusals",
    "Page URLs not fetched because robots.txt disallows them.",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
POLITENESS_WAIT_SECONDS = Histogram(
    "politeness_wait_seconds",
    "Time a page fetch waited for its host's turn.",
    buckets=(0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FETCH_NOT_MODIFIED = Counter(
    "fetch_not_modified",
    "Feed polls answered 304 Not Modified.",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FETCH_UNCHANGED = Counter(
    "fetch_unchanged",
    "Feed polls answered 200 with the same body as last time (not parsed).",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FETCH_BYTES = Counter(
    "fetch_bytes",
    "Body bytes the fetcher downloaded.",
    ["kind"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FEED_POLLS_STALE = Counter(
    "feed_polls_stale",
    "Poll commands skipped because the feed was polled after they were sent (copies).",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FEED_ENTRIES_NEW = Counter(
    "feed_entries_new",
    "Feed entries seen for the first time and emitted.",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FEED_POLL_ERRORS = Counter(
    "feed_poll_errors",
    "Feed polls that failed, by reason.",
    ["reason"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
FEEDS_TRACKED = Gauge(
    "feeds_tracked", "Feeds this fetcher replica owns.", namespace=NAMESPACE, registry=REGISTRY
)
FEEDS_FAILING = Gauge(
    "feeds_failing", "Owned feeds whose last poll failed.", namespace=NAMESPACE, registry=REGISTRY
)
BOILERPLATE_LINES_REMOVED = Counter(
    "boilerplate_lines_removed",
    "Lines the cleaner removed as cruft, by rule.",
    ["reason"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
# reason: "no_content" (the cleaner's own pass found nothing) or "short" (its body was a
# small share of what trafilatura's default extraction of the unmodified page finds).
CLEANER_RESCUES = Counter(
    "cleaner_rescues",
    "Pages whose body came from the rescue extraction instead of the cleaner's own pass.",
    ["reason"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
# stage: "fetcher" (the page failed, or was not requested: reason "pages_never",
# "pages_auto") or "cleaner" (the page gave no article: its dead letter's reason);
# source: "feed_content" or "feed_summary".
FEED_FALLBACKS = Counter(
    "feed_fallbacks",
    "Articles taken from the feed entry's content or summary instead of the page.",
    ["stage", "source", "reason"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
DEDUP_VERDICTS = Counter(
    "dedup_verdicts",
    "Stories emitted, by verdict.",
    ["verdict"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
DEDUP_REPLAYS = Counter(
    "dedup_replays",
    "Articles that arrived again with the same text: their first decision stands, no new record.",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
DEDUP_SIMILARITY = Histogram(
    "dedup_similarity_ratio",
    "Near-duplicates accepted: estimated share of the smaller text found in the larger.",
    namespace=NAMESPACE,
    registry=REGISTRY,
    buckets=(0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0),
)
DEDUP_INDEX_ENTRIES = Gauge(
    "dedup_index_entries",
    "Entries in dedup's stores on this worker's partitions after the last (daily) sweep.",
    ["store"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
DEDUP_OPEN_STORIES = Gauge(
    "dedup_open_stories",
    "Stories still open to new articles (within the retention window) after the last sweep.",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
DEDUP_EVICTIONS = Counter(
    "dedup_evictions",
    "Lookup entries dropped by dedup's retention sweep.",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "consumer_lag_records",
    "Records in a stage's input topic not yet committed by it.",
    ["stage", "topic"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
CONSUMER_STALLS = Counter(
    "consumer_stalls",
    "Partitions a worker held with records behind that its consumer had stopped handing "
    "out, found and fetched again (services/common/stallwatch.py).",
    ["stage", "topic"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)
READY = Gauge(
    "ready",
    "1 when the service has its partitions and can reach the broker.",
    namespace=NAMESPACE,
    registry=REGISTRY,
)
ASYNCIO_TASKS = Gauge(
    "asyncio_tasks",
    "asyncio tasks alive in the service's event loop, counted at scrape time "
    "(a leak shows as growth at a steady load: make soak).",
    namespace=NAMESPACE,
    registry=REGISTRY,
)


def _asyncio_tasks() -> float:
    import asyncio

    # /metrics is served from the service's own loop; any other caller has no tasks to count.
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:
        return float("nan")


ASYNCIO_TASKS.set_function(_asyncio_tasks)
BROKER_CONNECTION_ERRORS = Counter(
    "broker_connection_errors",
    "Kafka client errors reaching the broker, logged or collapsed, by cause "
    "(services.common.logthrottle.BROKER_CAUSES).",
    ["cause"],
    namespace=NAMESPACE,
    registry=REGISTRY,
)


# What a transform's counts (services.common.stage.Outcome) may name: the transforms only
# say what happened, and the stage turns each name into its counter here.
COUNTED: Mapping[str, Counter] = {
    "feed_polls_stale": FEED_POLLS_STALE,
    "fetch_not_modified": FETCH_NOT_MODIFIED,
    "fetch_unchanged": FETCH_UNCHANGED,
    "feed_entries_new": FEED_ENTRIES_NEW,
    "feed_poll_errors": FEED_POLL_ERRORS,
    "feed_fallbacks": FEED_FALLBACKS,
    "boilerplate_lines_removed": BOILERPLATE_LINES_REMOVED,
    "cleaner_rescues": CLEANER_RESCUES,
}


def zero_stage(stage: str) -> None:
    """Export a stage's throughput counters at 0 from its start.

    A labelled counter has no series until its first increment, so after a restart
    `increase(newswire_records_out_total{stage="dedup"}[30m]) == 0` (NewswireNoNewStories)
    has nothing to compare and stays silent while no story comes out.
    """
    RECORDS_IN.labels(stage)
    RECORDS_OUT.labels(stage)


def status_class(status: int | None) -> str:
    """Bucket an HTTP status into a fixed label value; None means no response at all."""
    if status is None or not 100 <= status <= 599:
        return "error"
    return f"{status // 100}xx" if status >= 200 else "error"
