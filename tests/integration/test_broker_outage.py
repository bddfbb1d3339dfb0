"""A real cleaner process while its broker is away: a few log lines instead of thousands,
the errors counted in /metrics, /readyz 503 during the outage and 200 after it. The
cleaner logs JSON (NEWSWIRE_LOG_FORMAT=json), and every line of the run must be one
JSON object: Faust's and aiokafka's records too, the outage's included.

The test runs a broker of its own (it kills it), not the session's. Measured here without
the throttle: the cleaner logged ~2,500 ERROR lines in 30 s of outage (~80 a second).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.devtools.broker import LocalBroker, start_broker
from services.devtools.stack import Proc, Stack

# Generous: the machine is shared and a broker restart can take a while on it.
DEADLINE_S = 240.0
LOUD = {"WARNING", "ERROR", "CRITICAL"}
FIELDS = {"time", "level", "service", "logger", "message"}
COUNTED = re.compile(r"\(and (\d+) more like it in the last 5 s\)")
SERIES = re.compile(r'^newswire_broker_connection_errors_total\{cause="(\w+)"\} (\S+)$', re.M)


@pytest.fixture
def broker() -> Iterator[list[LocalBroker]]:
    """A broker of this test's own, in a list: the test replaces it when it restarts it."""
    holder = [start_broker(keep_data=True)]
    try:
        yield holder
    finally:
        holder[0].stop(keep_data=False)


def http(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError as err:
        return 0, repr(err)


def wait_for(what: str, check: Callable[[], bool], proc: Proc) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert proc.alive(), f"cleaner exited while waiting for {what}:\n{tail(proc.log)}"
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_S:.0f}s:\n{tail(proc.log)}"
        time.sleep(0.5)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def connection_errors(metrics_url: str) -> dict[str, float]:
    status, body = http(metrics_url)
    assert status == 200, body
    return {cause: float(value) for cause, value in SERIES.findall(body)}


def test_broker_outage_is_quiet_counted_and_unready(
    broker: list[LocalBroker], tmp_path: Path
) -> None:
    settings = Settings(kafka_bootstrap=broker[0].bootstrap)
    asyncio.run(ensure_topics(settings))
    stack = Stack(broker[0].bootstrap, seeds_url="http://127.0.0.1:9", run_dir=tmp_path)
    try:
        proc = stack.start_service("cleaner", {"NEWSWIRE_LOG_FORMAT": "json"})
        base = f"http://127.0.0.1:{proc.port}"
        wait_for("readiness", lambda: http(f"{base}/readyz")[0] == 200, proc)
        before = connection_errors(f"{base}/metrics")
        assert set(before) >= {"connect", "metadata", "node_not_ready"}, before
        offset = len(proc.log.read_bytes())

        outage_started = time.monotonic()
        broker[0].kill()
        wait_for("503 from /readyz", lambda: http(f"{base}/readyz")[0] == 503, proc)
        unready_after_s = time.monotonic() - outage_started

        def outage_log() -> str:
            return proc.log.read_bytes()[offset:].decode(errors="replace")

        # Long enough for windows to close and report their counts, and for the client
        # to have retried hundreds of times (what used to be as many ERROR lines).
        def flood_collapsed() -> bool:
            errors = sum(connection_errors(f"{base}/metrics").values()) - sum(before.values())
            return errors >= 1000 and len(COUNTED.findall(outage_log())) >= 4

        wait_for("a collapsed flood", flood_collapsed, proc)
        assert http(f"{base}/readyz")[0] == 503, "ready while the broker is still away"
        during = connection_errors(f"{base}/metrics")
        outage_s = time.monotonic() - outage_started
        lines = outage_log().splitlines()
        loud = [line for line in lines if json.loads(line)["level"] in LOUD]
        held_back = sum(int(n) for n in COUNTED.findall("\n".join(lines)))
        errors = sum(during.values()) - sum(before.values())
        print(
            f"outage {outage_s:.0f}s: {len(loud)} WARNING/ERROR lines ({len(lines)} in all), "
            f"{held_back} records held back, {errors:.0f} connection errors counted, "
            f"/readyz 503 after {unready_after_s:.1f}s"
        )

        # Per cause, the first record and then one line per 5 s window: a handful of
        # causes, not one line per retry. Unthrottled, the lines were about the errors.
        assert len(loud) <= 20 + 4 * (outage_s / 5 + 1) * 2, "\n".join(loud[-40:])
        assert len(loud) * 20 < errors, "\n".join(loud[-40:])
        # The windows still open when this is read have not reported theirs yet.
        assert errors / 4 <= held_back <= errors, "the counts report what was held back"
        assert during["connect"] > before["connect"]

        broker[0] = start_broker(data_dir=broker[0].workdir, keep_data=True)
        back = time.monotonic()
        wait_for("readiness after the outage", lambda: http(f"{base}/readyz")[0] == 200, proc)
        print(f"/readyz 200 {time.monotonic() - back:.1f}s after the broker answered again")
        stack.stop()
        every_line_is_one_json_record(proc.log)
    finally:
        stack.stop()


def every_line_is_one_json_record(log: Path) -> None:
    """The whole run's output, start and graceful stop included."""
    lines = log.read_text(errors="replace").splitlines()
    assert len(lines) > 10
    loggers = set()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(record, dict) and set(record) >= FIELDS, line
        assert record["service"] == "cleaner"
        loggers.add(record["logger"].split(".")[0])
    # Faust's worker replaced the root handlers with its own: they write JSON too.
    assert {"services", "aiokafka"} <= loggers, loggers
