"""The extraction pool through a SIGTERM/SIGINT to the whole process group.

`make run`'s Ctrl-C and the test harness signal a service's process group, which holds
the pool's forkserver and worker processes as well as the service. The service stops
gracefully and shuts the pool down itself; a worker (or the forkserver, whose death
breaks the pool as surely) that died of the signal turned the page in extraction into
a `worker_crashed` dead letter instead of finishing it.

The pool runs in a child process of its own session, so the signal reaches exactly the
processes a service would have, and this test's process and forkserver are untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from services.cleaner.workers import ExtractionPool
from services.common.errors import WorkerCrashedError
from services.common.settings import PROJECT_ROOT

DEADLINE_S = 120.0


def _held_job(workdir: str) -> int:
    """Runs in a pool worker: says it started, waits until released, returns its pid."""
    folder = Path(workdir)
    (folder / "started.tmp").write_text(str(os.getpid()))
    (folder / "started.tmp").rename(folder / "started")
    deadline = time.monotonic() + DEADLINE_S
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.01)
    return os.getpid()


def child_main(workdir: str) -> None:
    """The stand-in service: handles the signals like a worker that stops gracefully,
    and reports what its extraction call returned."""
    folder = Path(workdir)
    received: list[int] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)
        (folder / f"got-{signum}").touch()

    signal.signal(signal.SIGTERM, note)
    signal.signal(signal.SIGINT, note)
    pool = ExtractionPool(1)
    try:
        pid = pool.run_sync(partial(_held_job, workdir), timeout=DEADLINE_S)
        outcome: dict[str, object] = {"pid": pid}
    except WorkerCrashedError as exc:
        outcome = {"crashed": str(exc)}
    finally:
        pool.close()
    outcome["signals"] = sorted(received)
    print(json.dumps(outcome), flush=True)


def _wait_for(path: Path, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not path.exists():
        assert child.poll() is None, f"child exited early with {child.returncode}"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def test_job_in_flight_survives_sigterm_and_sigint_to_the_process_group(tmp_path: Path) -> None:
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    # Files, not pipes: the forkserver and its workers inherit them and may outlive the
    # child by a moment, which would hold a pipe open.
    code = f"from {__name__} import child_main; child_main({str(tmp_path)!r})"
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=PROJECT_ROOT,
            stdout=out_file,
            stderr=err_file,
            text=True,
            start_new_session=True,
        )
    try:
        _wait_for(tmp_path / "started", child)
        worker = int((tmp_path / "started").read_text())
        assert worker != child.pid
        # The kernel dooms a process at the moment a fatal signal is sent to it, so a
        # worker or forkserver left at the default action is dead before the release.
        os.killpg(child.pid, signal.SIGTERM)
        os.killpg(child.pid, signal.SIGINT)
        _wait_for(tmp_path / f"got-{signal.SIGTERM.value}", child)
        _wait_for(tmp_path / f"got-{signal.SIGINT.value}", child)
        (tmp_path / "go").touch()
        child.wait(timeout=DEADLINE_S)
    finally:
        # The whole group: a forkserver or worker left behind would linger.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == 0, err_path.read_text()
    outcome = json.loads(out_path.read_text().strip().splitlines()[-1])
    # The very worker that received the signals finished the job.
    assert outcome == {"pid": worker, "signals": [signal.SIGINT.value, signal.SIGTERM.value]}
