"""Extraction in worker processes, so that a page whose extraction runs away can be stopped.

lxml and trafilatura work in C and in pure Python; neither can be interrupted in a
thread. A process can: each document gets a time limit, and when it passes, the
pool's processes are killed and a fresh pool serves the next document. Workers
fork from a forkserver that has already imported lxml and trafilatura, so a new
pool is ready in milliseconds and the parent's threads (Faust, aiokafka) are never
forked.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from services.common.errors import ExtractionTimeoutError, WorkerCrashedError

T = TypeVar("T")

# Imported once in the forkserver; every worker forks with them loaded. The first one
# makes the forkserver ignore SIGTERM (see its docstring).
PRELOAD = ["services.cleaner.forkshield", "services.cleaner.extract", "services.cleaner.pipeline"]


def _init_worker() -> None:
    # Ctrl-C and a SIGTERM to the process group (make run, the test harness, some
    # supervisors) reach the workers too. The parent stops gracefully: it lets the page
    # in extraction finish, then shuts the pool down itself (SIGKILL, see `_replace`),
    # so a worker that died of the signal would only turn that page into a
    # `worker_crashed` dead letter.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class ExtractionPool:
    """A process pool whose calls have a time limit; a call that overruns costs the pool."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(PRELOAD)
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=ctx, initializer=_init_worker
                )
            return self._executor

    def _replace(self, executor: ProcessPoolExecutor) -> None:
        """Kill `executor`'s processes (one may be stuck) unless it was replaced already."""
        with self._lock:
            if self._executor is not executor:
                return
            self._executor = None
        # There is no public way to stop a busy worker before Python 3.14's kill_workers().
        for process in list(executor._processes.values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            executor = self._executor
        if executor is not None:
            self._replace(executor)

    async def run(self, fn: Callable[[], T], *, timeout: float) -> T:
        """`fn()` in a worker, at most `timeout` seconds (queueing included)."""
        for attempt in (1, 2):
            executor = self._current()
            try:
                future = asyncio.get_running_loop().run_in_executor(executor, fn)
                return await asyncio.wait_for(future, timeout)
            except TimeoutError as exc:
                self._replace(executor)
                raise ExtractionTimeoutError(
                    f"extraction took longer than {timeout:g} s", reason="timeout"
                ) from exc
            except BrokenProcessPool as exc:
                if self._retry(executor, attempt):
                    continue
                raise WorkerCrashedError(f"extraction process died: {exc}") from exc
        raise AssertionError("unreachable")

    def run_sync(self, fn: Callable[[], T], *, timeout: float) -> T:
        """The blocking twin of `run`, for command-line use: same limit, same pool handling."""
        return asyncio.run(self.run(fn, timeout=timeout))

    def _retry(self, executor: ProcessPoolExecutor, attempt: int) -> bool:
        """After a broken pool: retry once when another call's timeout killed it, not this page."""
        with self._lock:
            killed_by_other = self._executor is not executor
        if killed_by_other and attempt == 1:
            return True
        self._replace(executor)
        return False


_shared: ExtractionPool | None = None
_shared_lock = threading.Lock()


def shared_pool(workers: int) -> ExtractionPool:
    """The process's one extraction pool, made on first use (never at import)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.workers != workers:
            if _shared is not None:
                _shared.close()
            _shared = ExtractionPool(workers)
        return _shared
