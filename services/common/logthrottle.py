"""Collapse floods of repeated log records (the Kafka clients' retries while a broker is away).

While a broker is unreachable aiokafka logs every reconnect attempt, thousands of ERROR
lines a minute per process, which bury everything else and cost the log pipeline. The
filter here passes the first record of each cause, holds back repeats for a window and
then reports how many it held back. Pure logging: no Kafka, no metrics (callers get a
callback per record and decide what to count).
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Loggers whose repeats are collapsed: the Kafka client and the stream framework.
THROTTLED_PREFIXES = ("aiokafka", "faust", "mode")

# What the client was trying to do when the broker did not answer. A fixed set: these
# become metric labels, so free text (addresses, error messages) must never leak in.
BROKER_CAUSES = ("connect", "metadata", "coordinator", "node_not_ready", "request_timeout")
# The causes that mean "cannot talk to the broker at all" (readiness), as opposed to a
# coordinator moving, which a healthy multi-broker cluster does during a rolling restart.
UNREACHABLE_CAUSES = frozenset({"connect", "metadata", "node_not_ready"})

# First match wins; the order puts what the client was doing before the error it met.
_CAUSE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("metadata", re.compile(r"metadata", re.I)),
    ("coordinator", re.compile(r"coordinator", re.I)),
    ("node_not_ready", re.compile(r"NodeNotReady|node which is not ready", re.I)),
    (
        "connect",
        re.compile(
            r"unable connect|connect call failed|connection refused|KafkaConnectionError"
            r"|connection at \S+ closed",
            re.I,
        ),
    ),
    ("request_timeout", re.compile(r"RequestTimedOut|timed out", re.I)),
)

# Variable parts of a message: addresses, hex ids, numbers. Longest forms first.
_VARIABLE = re.compile(
    r"\[?[0-9a-f]*:[0-9a-f:]+\]?:\d+"  # [::1]:9092
    r"|\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?"  # 127.0.0.1:9092
    r"|0x[0-9a-f]+"
    r"|\b[0-9a-f]{8,}\b"  # member ids, hashes
    r"|\d+",
    re.I,
)
_KEY_CHARS = 300  # beyond this a message is a dump, not a template

# Marks a record the filter already decided on: a record passes every handler of the
# root logger, and each must reach the same verdict without counting it twice.
_DECIDED = "_newswire_throttle_pass"


def normalise(message: str) -> str:
    """The message with its numbers and addresses replaced: one text per cause."""
    return _VARIABLE.sub("#", message[:_KEY_CHARS])


def broker_cause(logger: str, message: str) -> str | None:
    """The broker-connection cause a Kafka client record reports, if it reports one."""
    if not throttled_logger(logger):
        return None
    for cause, pattern in _CAUSE_PATTERNS:
        if pattern.search(message):
            return cause
    return None


def throttled_logger(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in THROTTLED_PREFIXES)


@dataclass
class _Window:
    started: float
    held: int = 0  # records held back since `started`
    last: logging.LogRecord | None = None  # the latest of them


class ThrottleFilter(logging.Filter):
    """Per cause (logger, level, normalised message): the first record passes; repeats
    within `window_s` are held back and counted.

    When the window has closed, the next repeat passes with "(and N more like it in the
    last W s)"; if none comes, `flush` (called on later records and by a timer) logs the
    last held-back record with that count. Causes are capped at `max_keys`: the oldest
    window is closed early to make room, so memory stays bounded whatever is logged.
    Records below `min_level` and of other loggers pass untouched.
    """

    def __init__(
        self,
        window_s: float = 5.0,
        max_keys: int = 256,
        *,
        min_level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
        observe: Callable[[logging.LogRecord], None] | None = None,
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self.max_keys = max_keys
        self.min_level = min_level
        self.clock = clock
        # Called once per record it throttles, passed or held back (metrics count them).
        self.observe = observe
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._lock = threading.Lock()
        self._next_flush = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        decided = record.__dict__.get(_DECIDED)
        if decided is not None:
            return bool(decided)
        if record.levelno < self.min_level or not throttled_logger(record.name):
            record.__dict__[_DECIDED] = True
            self._flush_if_due()
            return True
        if self.observe is not None:
            self.observe(record)
        key = f"{record.name}|{record.levelno}|{normalise(record.getMessage())}"
        now = self.clock()
        evicted: list[tuple[logging.LogRecord, int]] = []
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                while len(self._windows) >= self.max_keys:
                    _, old = self._windows.popitem(last=False)
                    evicted.extend(self._summary(old))
                self._windows[key] = _Window(started=now)
                passed = True
            elif now - window.started < self.window_s:
                window.held += 1
                window.last = record
                passed = False
            else:
                if window.held:
                    _add_count(record, window.held, self.window_s)
                self._windows[key] = _Window(started=now)
                self._windows.move_to_end(key)
                passed = True
        record.__dict__[_DECIDED] = passed
        self._emit(evicted)
        self._flush_if_due()
        return passed

    def flush(self) -> None:
        """Close the windows that are over: log each one's held-back count."""
        now = self.clock()
        due: list[tuple[logging.LogRecord, int]] = []
        with self._lock:
            for key, window in list(self._windows.items()):
                if now - window.started < self.window_s:
                    continue
                if window.held:
                    due.extend(self._summary(window))
                    # Still repeating: the next repeat starts a window of its own.
                    self._windows[key] = _Window(started=now)
                else:
                    del self._windows[key]  # gone quiet: its next record passes at once
            self._next_flush = now + self.window_s / 2
        self._emit(due)

    @property
    def causes_tracked(self) -> int:
        return len(self._windows)

    def _flush_if_due(self) -> None:
        if self.clock() >= self._next_flush:
            self.flush()

    @staticmethod
    def _summary(window: _Window) -> Iterable[tuple[logging.LogRecord, int]]:
        if window.last is not None:
            # The last record is shown itself: the count is of the others.
            yield window.last, window.held - 1

    def _emit(self, records: list[tuple[logging.LogRecord, int]]) -> None:
        # Outside the lock: handling the record runs this filter again (it passes).
        for last, others in records:
            summary = copy.copy(last)
            if others:
                _add_count(summary, others, self.window_s)
            summary.__dict__[_DECIDED] = True
            logging.getLogger(summary.name).handle(summary)


def _add_count(record: logging.LogRecord, held: int, window_s: float) -> None:
    record.msg = f"{record.getMessage()} (and {held} more like it in the last {window_s:g} s)"
    # Formatted already. An empty tuple, not None: mode's formatter wraps a non-tuple
    # into (None,) and %-formats the message with it.
    record.args = ()


class BrokerErrorWatch:
    """Whether the broker looks unreachable, from the Kafka client's own complaints.

    Unreachable while at least `min_errors` connection errors came within the last
    `recent_s`: one stray error (a node restarting in a healthy cluster) is not an
    outage, and the client retries many times a second while the broker is away.
    """

    def __init__(
        self,
        recent_s: float = 5.0,
        min_errors: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recent_s = recent_s
        self.clock = clock
        self._times: deque[float] = deque(maxlen=min_errors)
        self._lock = threading.Lock()

    def record(self, cause: str) -> None:
        if cause in UNREACHABLE_CAUSES:
            with self._lock:
                self._times.append(self.clock())

    def unreachable(self) -> bool:
        with self._lock:
            full = len(self._times) == self._times.maxlen
            return full and self.clock() - self._times[0] < self.recent_s
