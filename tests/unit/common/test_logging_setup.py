"""setup_logging's throttle stays on the root handlers after Faust's worker replaces them,
counts every connection error in the metric and tells readiness the broker is away."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from mode.utils import logging as mode_logging

import services.common.logging as logmod
from services.common.logthrottle import BrokerErrorWatch, ThrottleFilter
from services.common.metrics import REGISTRY


@pytest.fixture
def root_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """The process's logging as it was, afterwards (other tests share the process)."""
    root = logging.getLogger()
    handlers, level = root.handlers, root.level
    kept = list(handlers)
    # A watch of this test's own: the process-wide one feeds every StageApp.ready().
    monkeypatch.setattr(logmod, "_WATCH", BrokerErrorWatch())
    yield root
    for handler in root.handlers:
        if handler not in kept:
            handler.close()
    for handler in kept:
        for f in [f for f in handler.filters if isinstance(f, ThrottleFilter)]:
            handler.removeFilter(f)
    root.handlers = handlers
    handlers[:] = kept
    root.setLevel(level)


def connect_errors() -> float:
    value = REGISTRY.get_sample_value(
        "newswire_broker_connection_errors_total", {"cause": "connect"}
    )
    assert value is not None, "the cause's series is exported from the start"
    return value


def test_throttle_survives_the_worker_replacing_root_handlers(
    root_restored: logging.Logger,
) -> None:
    logmod.setup_logging("info")
    before = connect_errors()
    # What Faust's worker does at start: clear the root handlers and dictConfig its own.
    stream = io.StringIO()
    mode_logging.setup_logging(loglevel="INFO", logfile=stream)
    handlers = list(root_restored.handlers)
    assert handlers, "mode configured a root handler"
    assert all(any(isinstance(f, ThrottleFilter) for f in h.filters) for h in handlers)
    stream_handlers = [h for h in handlers if isinstance(h, logging.StreamHandler)]
    for stream_handler in stream_handlers:
        stream_handler.setStream(stream)

    assert not logmod.broker_unreachable()
    client = logging.getLogger("aiokafka.client")
    for port in range(200):
        client.error(
            "Unable connect to node with id 1: Connect call failed ('127.0.0.1', %d)", port
        )
    logging.getLogger("services.cleaner").info("an ordinary line")

    lines = stream.getvalue().splitlines()
    assert sum("Unable connect" in line for line in lines) == 1, lines
    assert any("an ordinary line" in line for line in lines)
    assert connect_errors() - before == 200
    assert logmod.broker_unreachable()


def test_setup_twice_keeps_one_filter_per_handler(root_restored: logging.Logger) -> None:
    logmod.setup_logging("info")
    logmod.setup_logging("warn", throttle_window_seconds=2.0)
    for handler in root_restored.handlers:
        assert sum(isinstance(f, ThrottleFilter) for f in handler.filters) == 1
    throttle = logmod.install_throttle(2.0, 256)
    assert throttle.window_s == 2.0
