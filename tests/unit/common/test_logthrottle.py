"""The log throttle: first record of a cause shown, repeats counted, counts reported, memory
bounded; on a fake clock, through real loggers and handlers."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from services.common.logthrottle import (
    BROKER_CAUSES,
    BrokerErrorWatch,
    ThrottleFilter,
    broker_cause,
    normalise,
)

COUNT = re.compile(r"\(and (\d+) more like it in the last 5 s\)$")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def lines(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seen() -> list[logging.LogRecord]:
    return []


@pytest.fixture
def throttle(clock: Clock, seen: list[logging.LogRecord]) -> ThrottleFilter:
    return ThrottleFilter(5.0, 256, clock=clock, observe=seen.append)


@pytest.fixture
def out(throttle: ThrottleFilter) -> Iterator[Collect]:
    """Handlers on the loggers the tests write to, which do not propagate to the root."""
    handler = Collect()
    handler.addFilter(throttle)
    loggers = [logging.getLogger(n) for n in ("aiokafka.client", "faust.x", "services.x")]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg in loggers:
        lg.removeHandler(handler)
        lg.propagate = True
        lg.setLevel(logging.NOTSET)


def unable(node: int = 1, port: int = 40123) -> None:
    logging.getLogger("aiokafka.client").error(
        "Unable connect to node with id %s: %s",
        node,
        OSError(111, f"Connect call failed ('127.0.0.1', {port})"),
    )


def counts(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in lines if (m := COUNT.search(line))]


def test_first_passes_repeats_are_held_and_the_next_one_after_the_window_counts_them(
    clock: Clock, out: Collect
) -> None:
    unable()
    assert len(out.records) == 1 and "(and" not in out.lines[0]
    for i in range(412):
        clock.now += 0.01
        unable(port=40000 + i)  # another port, same cause
    assert len(out.records) == 1
    clock.now += 5.0  # the window is over; the next occurrence reports what was held
    unable()
    assert len(out.records) == 2
    assert out.lines[1].startswith("Unable connect to node with id 1")
    assert out.lines[1].endswith("(and 412 more like it in the last 5 s)")
    # It opened a new window: the one after it is held again.
    clock.now += 0.1
    unable()
    assert len(out.records) == 2


def test_a_closed_window_is_reported_by_flush_without_a_new_occurrence(
    clock: Clock, throttle: ThrottleFilter, out: Collect
) -> None:
    for _ in range(10):
        unable()
    assert len(out.records) == 1
    clock.now += 4.9
    throttle.flush()
    assert len(out.records) == 1, "the window is still open"
    clock.now += 0.2
    throttle.flush()
    # The last held-back record is shown itself; the count is of the 8 others.
    assert len(out.records) == 2
    assert counts(out.lines) == [8]
    assert out.records[1].levelno == logging.ERROR
    assert out.records[1].name == "aiokafka.client"
    # A quiet cause is forgotten at the next close: its next record passes at once.
    clock.now += 5.1
    throttle.flush()
    assert throttle.causes_tracked == 0
    unable()
    assert len(out.records) == 3 and "(and" not in out.lines[2]


def test_one_held_record_is_shown_as_it_was(
    clock: Clock, throttle: ThrottleFilter, out: Collect
) -> None:
    unable()
    unable(port=1)
    clock.now += 6
    throttle.flush()
    assert len(out.records) == 2
    assert counts(out.lines) == []
    assert "40123" not in out.lines[1] and "('127.0.0.1', 1)" in out.lines[1]


def test_nothing_is_lost_in_the_counts(
    clock: Clock, throttle: ThrottleFilter, out: Collect
) -> None:
    total = 0
    for step in range(3000):  # 30 s of a client retrying every 10 ms, two causes
        clock.now += 0.01
        unable(port=step)
        logging.getLogger("faust.x").warning("Heartbeat failed for group %s", step)
        total += 2
        if step % 50 == 0:
            throttle.flush()
    clock.now += 10
    throttle.flush()
    shown = len(out.records)
    assert shown <= 2 * (30 / 5 + 2), out.lines
    assert shown + sum(counts(out.lines)) == total


def test_other_loggers_and_info_records_pass_untouched(out: Collect, seen: list[object]) -> None:
    for _ in range(20):
        logging.getLogger("services.x").error("a stage error %d", 1)
        logging.getLogger("aiokafka.client").info("Joined group %s", "g")
    assert len(out.records) == 40
    assert not seen
    assert counts(out.lines) == []


def test_different_causes_and_loggers_are_throttled_apart(out: Collect) -> None:
    for _ in range(5):
        unable()
        logging.getLogger("aiokafka.client").error("Unable to update metadata from %s", [1])
        logging.getLogger("faust.x").error("Unable to update metadata from %s", [1])
        logging.getLogger("aiokafka.client").warning("Unable to update metadata from %s", [1])
    assert len(out.records) == 4


def test_causes_are_bounded_and_evicted_windows_report_their_counts(
    clock: Clock, seen: list[logging.LogRecord]
) -> None:
    throttle = ThrottleFilter(5.0, 3, clock=clock)
    handler = Collect()
    handler.addFilter(throttle)
    lg = logging.getLogger("mode.bounded")
    lg.addHandler(handler)
    lg.propagate = False
    try:
        for word in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta"):
            for _ in range(4):
                lg.warning("cause %s", word)
            assert throttle.causes_tracked <= 3
        # alpha, beta, gamma made room for the later ones: each reported its 3 repeats
        # (the last shown, 2 more counted) before it went.
        assert [line for line in handler.lines if line.startswith("cause alpha")] == [
            "cause alpha",
            "cause alpha (and 2 more like it in the last 5 s)",
        ]
        assert len(handler.records) == 6 + 3
    finally:
        lg.removeHandler(handler)
        lg.propagate = True


def test_a_record_gets_one_verdict_and_one_count_across_handlers(
    clock: Clock, throttle: ThrottleFilter, seen: list[logging.LogRecord]
) -> None:
    first, second = Collect(), Collect()
    lg = logging.getLogger("aiokafka.two")
    for handler in (first, second):
        handler.addFilter(throttle)
        lg.addHandler(handler)
    lg.propagate = False
    try:
        for _ in range(3):
            lg.error("Unable connect to node with id 1: refused")
        assert len(first.records) == len(second.records) == 1
        assert len(seen) == 3
    finally:
        for handler in (first, second):
            lg.removeHandler(handler)
        lg.propagate = True


def test_messages_with_percent_signs_survive_the_count(
    clock: Clock, throttle: ThrottleFilter, out: Collect
) -> None:
    lg = logging.getLogger("aiokafka.client")
    for _ in range(3):
        lg.error("100%% of %s failed: %s", "fetches", "50% done")
    clock.now += 6
    throttle.flush()
    formatted = [logging.Formatter("%(message)s").format(r) for r in out.records]
    assert formatted == [
        "100% of fetches failed: 50% done",
        "100% of fetches failed: 50% done (and 1 more like it in the last 5 s)",
    ]


def test_normalise_removes_numbers_and_addresses() -> None:
    a = "Unable connect to node with id 1: [Errno 111] Connect call failed ('127.0.0.1', 40123)"
    b = "Unable connect to node with id 2: [Errno 111] Connect call failed ('10.0.0.7', 9092)"
    assert normalise(a) == normalise(b)
    assert normalise("member abcdef0123456789 at [::1]:9092") == normalise(
        "member 0123456789abcdef at [fe80::1]:19092"
    )
    assert normalise("Unable to update metadata") != normalise("Failed fetch messages")


NOT_READY = "NodeNotReadyError: Attempt to send a request to node which is not ready (node id 1)."
CLOSED = "KafkaConnectionError: Connection at 127.0.0.1:1 closed"
COORDINATOR = "aiokafka.consumer.group_coordinator"


@pytest.mark.parametrize(
    ("logger", "message", "cause"),
    [
        ("aiokafka.client", "Unable connect to node with id 1: Connect call failed", "connect"),
        ("aiokafka.client", "Unable to update metadata from [1]", "metadata"),
        (
            "aiokafka.client",
            f"Unable to request metadata from node with id 1: {CLOSED}",
            "metadata",
        ),
        (
            "aiokafka.consumer.fetcher",
            f"Failed fetch messages from 1: {NOT_READY}",
            "node_not_ready",
        ),
        ("aiokafka.consumer.fetcher", f"Failed fetch messages from 1: {CLOSED}", "connect"),
        (COORDINATOR, f"Group Coordinator Request failed: {NOT_READY}", "coordinator"),
        (COORDINATOR, "Marking the coordinator dead (node 1)for group g.", "coordinator"),
        ("faust.transport", "RequestTimedOutError: request timed out", "request_timeout"),
        (COORDINATOR, "Heartbeat failed: local member_id was not recognized", None),
        ("services.cleaner", "Unable connect to node with id 1", None),
        ("aiokafkaish", "Unable connect to node with id 1", None),
    ],
)
def test_broker_cause(logger: str, message: str, cause: str | None) -> None:
    assert broker_cause(logger, message) == cause
    assert cause is None or cause in BROKER_CAUSES


def test_broker_error_watch(clock: Clock) -> None:
    watch = BrokerErrorWatch(recent_s=5.0, min_errors=3, clock=clock)
    assert not watch.unreachable()
    watch.record("connect")
    watch.record("coordinator")  # a coordinator moving is no outage
    watch.record("coordinator")
    assert not watch.unreachable()
    watch.record("metadata")
    watch.record("node_not_ready")
    assert watch.unreachable()
    clock.now += 4.9
    assert watch.unreachable()
    clock.now += 0.2
    assert not watch.unreachable(), "errors stopped: reachable again"
    # Errors spread thinner than 3 in 5 s: one stray error now and then is no outage.
    for _ in range(5):
        clock.now += 3
        watch.record("connect")
        assert not watch.unreachable()
