"""A real cleaner while its broker is paused (SIGSTOP), not down: connections stay open
and nothing is refused, so the Kafka client logs no connection error. /readyz must still
say 503 during the pause (an unanswered lag probe) and 200 once the broker runs again.

The test runs a broker of its own (it stops it), not the session's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
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

DEADLINE_S = 240.0  # generous: the machine is shared
GAVE_UP = "cannot read high-water marks"


@pytest.fixture
def broker() -> Iterator[LocalBroker]:
    b = start_broker()
    try:
        yield b
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(b.pid, signal.SIGCONT)  # a stopped process ignores SIGTERM
        b.stop()


def readyz(proc: Proc) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/readyz", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def wait_for(what: str, check: Callable[[], bool], proc: Proc) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        log = proc.log.read_text(errors="replace")[-3000:]
        assert proc.alive(), f"cleaner exited while waiting for {what}:\n{log}"
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_S:.0f}s:\n{log}"
        time.sleep(0.25)


def test_paused_broker_makes_the_worker_unready_and_resumed_ready(
    broker: LocalBroker, tmp_path: Path
) -> None:
    asyncio.run(ensure_topics(Settings(kafka_bootstrap=broker.bootstrap)))
    stack = Stack(broker.bootstrap, seeds_url="http://127.0.0.1:9", run_dir=tmp_path)
    try:
        proc = stack.start_service("cleaner")
        wait_for("readiness", lambda: readyz(proc) == 200, proc)
        offset = len(proc.log.read_bytes())

        paused_at = time.monotonic()
        os.kill(broker.pid, signal.SIGSTOP)
        try:
            wait_for("503 from /readyz", lambda: readyz(proc) == 503, proc)
            unready_s = time.monotonic() - paused_at
            during = proc.log.read_bytes()[offset:].decode(errors="replace")
        finally:
            os.kill(broker.pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        wait_for("readiness after the pause", lambda: readyz(proc) == 200, proc)
        # Informational (timings are not asserted on a shared machine): with the probe's
        # wait counted, unready comes before the first probe gives up and logs it.
        print(
            f"paused broker: /readyz 503 after {unready_s:.1f}s "
            f"({during.count(GAVE_UP)} probes had given up), "
            f"200 again {time.monotonic() - resumed_at:.1f}s after SIGCONT"
        )
    finally:
        stack.stop()
