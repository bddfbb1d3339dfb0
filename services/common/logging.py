"""Process-wide logging: one line per event, level from settings, floods collapsed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from services.common import metrics
from services.common.logthrottle import (
    BROKER_CAUSES,
    BrokerErrorWatch,
    ThrottleFilter,
    broker_cause,
)

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

# One per process: services call setup_logging once, the CLI may call it again.
_FILTER: ThrottleFilter | None = None
_WATCH = BrokerErrorWatch()


def setup_logging(
    level: str, *, throttle_window_seconds: float = 5.0, throttle_max_causes: int = 256
) -> None:
    logging.basicConfig(
        level=LEVELS.get(level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka is chatty about routine rebalances at INFO.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    install_throttle(throttle_window_seconds, throttle_max_causes)


def install_throttle(window_s: float, max_causes: int) -> ThrottleFilter:
    """Collapse repeated Kafka client records on every handler the root logger has or gets.

    Faust's worker replaces the root handlers with its own when it starts (mode's
    setup_logging), so a filter put on today's handlers would be gone by the time the
    broker goes away: the root's handler list adds the filter to each handler it is given.
    """
    global _FILTER
    if _FILTER is None:
        for cause in BROKER_CAUSES:  # exported at 0, so increase() sees the first outage
            metrics.BROKER_CONNECTION_ERRORS.labels(cause)
        _FILTER = ThrottleFilter(window_s, max_causes, observe=_observe)
        _start_flusher(_FILTER)
    _FILTER.window_s, _FILTER.max_keys = window_s, max_causes
    root = logging.getLogger()
    if not isinstance(root.handlers, _FilteredHandlers):
        root.handlers = _FilteredHandlers(_FILTER, root.handlers)
    return _FILTER


def broker_unreachable() -> bool:
    """The Kafka client has been failing to reach the broker just now (see BrokerErrorWatch)."""
    return _WATCH.unreachable()


def _observe(record: logging.LogRecord) -> None:
    cause = broker_cause(record.name, record.getMessage())
    if cause is not None:
        metrics.BROKER_CONNECTION_ERRORS.labels(cause).inc()
        _WATCH.record(cause)


def _start_flusher(throttle: ThrottleFilter) -> None:
    """Report held-back counts when a window closes, also when nothing else is logged."""

    def run() -> None:
        while True:
            time.sleep(throttle.window_s / 2)
            throttle.flush()

    threading.Thread(target=run, name="log-throttle", daemon=True).start()


class _FilteredHandlers(list[logging.Handler]):
    """The root logger's handler list: every handler added gets the throttle filter."""

    def __init__(self, throttle: ThrottleFilter, handlers: Iterable[logging.Handler]) -> None:
        super().__init__()
        self.throttle = throttle
        self.extend(handlers)

    def append(self, handler: logging.Handler) -> None:
        handler.addFilter(self.throttle)
        super().append(handler)

    def extend(self, handlers: Iterable[logging.Handler]) -> None:
        for handler in handlers:
            self.append(handler)

    def insert(self, index: int, handler: logging.Handler) -> None:  # type: ignore[override]
        handler.addFilter(self.throttle)
        super().insert(index, handler)
