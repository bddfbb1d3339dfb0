"""Process-wide logging: one line per event, level from settings, floods collapsed.

Text by default; with NEWSWIRE_LOG_FORMAT=json every record of every logger (Newswire's,
Faust's, aiokafka's) is one JSON object per line, with the article being processed
when there is one (`ARTICLE_ID`, set by the stage around each record) and, when tracing,
the trace and span of its handling (services.common.tracing), an exception's
traceback as one field, and warnings and uncaught exceptions in threads logged too, so
that nothing the process says falls outside the format.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from services.common import metrics, tracing
from services.common.logthrottle import (
    BROKER_CAUSES,
    BrokerErrorWatch,
    ThrottleFilter,
    broker_cause,
)
from services.common.settings import unknown_variables

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

if TYPE_CHECKING:
    from services.common.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The article id of the record a stage is handling in this task (None between records).
ARTICLE_ID: ContextVar[str | None] = ContextVar("newswire_article_id", default=None)

# One per process: services call setup_logging once, the CLI may call it again.
_FILTER: ThrottleFilter | None = None
_WATCH = BrokerErrorWatch()
_FORMATTER: logging.Formatter | None = None  # set on every root handler, Faust's too


def setup_logging(
    level: str,
    *,
    throttle_window_seconds: float = 5.0,
    throttle_max_causes: int = 256,
    fmt: str = "text",
    service: str = "newswire",
) -> None:
    global _FORMATTER
    logging.basicConfig(level=LEVELS.get(level, logging.INFO), format=TEXT_FORMAT)
    # aiokafka is chatty about routine rebalances at INFO.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    if fmt == "json":
        _FORMATTER = JsonFormatter(service)
        for handler in logging.getLogger().handlers:
            handler.setFormatter(_FORMATTER)
        _log_what_bypasses_logging()
    install_throttle(throttle_window_seconds, throttle_max_causes)


def setup_logging_from(settings: Settings, service: str) -> None:
    """A service's logging as its settings say; then the first thing it logs is any
    NEWSWIRE_ variable no setting reads (a misspelt one would otherwise change nothing,
    silently)."""
    setup_logging(
        settings.logs.level,
        throttle_window_seconds=settings.logs.throttle_window_seconds,
        throttle_max_causes=settings.logs.throttle_max_causes,
        fmt=settings.logs.format,
        service=service,
    )
    for name in unknown_variables():
        logging.getLogger(__name__).warning("%s is set, but no setting reads it", name)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        article_id = ARTICLE_ID.get()
        if article_id is not None:
            out["article_id"] = article_id
        ids = tracing.current_ids()  # while a record's span is current (tracing on)
        if ids is not None:
            out["trace_id"], out["span_id"] = ids
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _log_what_bypasses_logging() -> None:
    """Warnings and uncaught exceptions (main thread and others) as log records: written
    straight to stderr they would be lines outside the JSON format."""
    logging.captureWarnings(True)
    uncaught = logging.getLogger("newswire.uncaught")

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        uncaught.critical("uncaught exception", exc_info=(kind, exc, tb))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        uncaught.error(
            "uncaught exception in thread %s",
            args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


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
        _adopt(handler, self.throttle)
        super().append(handler)

    def extend(self, handlers: Iterable[logging.Handler]) -> None:
        for handler in handlers:
            self.append(handler)

    def insert(self, index: int, handler: logging.Handler) -> None:  # type: ignore[override]
        _adopt(handler, self.throttle)
        super().insert(index, handler)


def _adopt(handler: logging.Handler, throttle: ThrottleFilter) -> None:
    """A handler joining the root logger (Faust's worker replaces ours with its own):
    collapse its floods, and write it in the process's format."""
    handler.addFilter(throttle)
    if _FORMATTER is not None:
        handler.setFormatter(_FORMATTER)
