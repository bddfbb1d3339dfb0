"""One fuzzing process: one target, one engine, a number of cases; the runner watches it.

The worker writes each input into a shared file before it runs it, and counts cases
there. If the process hangs (no new case for the time limit) or dies in native code,
the runner reads the input that did it from that file, saves it and starts another
worker for the cases left. Python exceptions are caught here: a `NewswireError` is the
expected answer to bad input; anything else is a crash, whose input is saved at once.

Engines: "atheris" (libFuzzer's coverage-guided byte mutation over the seed corpus,
with the services' code instrumented) and "hypothesis" (structured inputs from
`fuzzstrategies`).
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import struct
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from services.common.errors import NewswireError

# Shared file: [0:8] cases started, [8:12] length of the current input, then the input.
HEADER = struct.Struct("<QI")
MAX_SAVED_INPUT = 4 << 20
SHARED_BYTES = HEADER.size + MAX_SAVED_INPUT
# Inputs kept per distinct crash (exception type and the line that raised it).
KEEP_PER_SIGNATURE = 3
REPORT_EVERY_SECONDS = 1.0


def rss_mb(pid: int | str = "self", field_name: str = "VmRSS") -> float:
    """Resident memory of a process in MiB (VmHWM: its peak so far), from /proc."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def read_shared(path: Path) -> tuple[int, bytes]:
    """(cases started, the input being run) as the worker last wrote them."""
    with open(path, "rb") as f:
        head = f.read(HEADER.size)
        if len(head) < HEADER.size:
            return 0, b""
        started, length = HEADER.unpack(head)
        return started, f.read(min(length, MAX_SAVED_INPUT))


def signature(exc: BaseException) -> str:
    """Type and innermost frame of our own code (else the innermost frame at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/services/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(exc).__name__}@{where}"


def save_input(folder: Path, kind: str, data: bytes, note: str) -> Path:
    """`data` under `folder` named by its hash, with a note (traceback) beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{hashlib.sha1(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(note, encoding="utf-8")
    return path


@dataclass
class Job:
    target: str
    engine: str
    cases: int
    seed: int
    shared: Path
    crash_dir: Path
    log: Path
    corpus_dir: Path | None = None
    extra_corpus: Path | None = None
    case_timeout: float = 10.0


@dataclass
class Stats:
    cases: int = 0
    crashes: int = 0
    expected: Counter[str] = field(default_factory=Counter)
    crash_signatures: Counter[str] = field(default_factory=Counter)
    saved: list[str] = field(default_factory=list)
    slowest_seconds: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0
    load_seconds: float = 0.0
    run_seconds: float = 0.0

    def message(self, kind: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "cases": self.cases,
            "crashes": self.crashes,
            "expected": dict(self.expected),
            "crash_signatures": dict(self.crash_signatures),
            "saved": list(self.saved),
            "slowest_seconds": self.slowest_seconds,
            "rss_start_mb": self.rss_start_mb,
            "rss_end_mb": self.rss_end_mb,
            "rss_peak_mb": self.rss_peak_mb,
            "load_seconds": self.load_seconds,
            "run_seconds": self.run_seconds,
        }


class Worker:
    def __init__(self, job: Job, conn: Connection) -> None:
        from services.devtools.fuzztargets import TARGETS

        self.job = job
        self.conn = conn
        self.target = TARGETS[job.target]
        self.stats = Stats()
        self._shared = open(job.shared, "r+b")  # noqa: SIM115 (lives as long as the worker)
        self._map = mmap.mmap(self._shared.fileno(), SHARED_BYTES)
        self._last_report = 0.0
        self._started = 0.0

    def case(self, data: bytes) -> None:
        """Run one input; classify what it raised; stop the process after the last case."""
        stats = self.stats
        if stats.cases >= self.job.cases:
            self.finish()
        stats.cases += 1
        kept = data[:MAX_SAVED_INPUT]
        self._map[HEADER.size : HEADER.size + len(kept)] = kept
        self._map[: HEADER.size] = HEADER.pack(stats.cases, len(kept))
        began = time.perf_counter()
        try:
            self.target.run(data)
        except NewswireError as exc:
            stats.expected[type(exc).__name__] += 1
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self.crashed(data, exc)
        took = time.perf_counter() - began
        stats.slowest_seconds = max(stats.slowest_seconds, took)
        now = time.monotonic()
        if now - self._last_report >= REPORT_EVERY_SECONDS:
            self._last_report = now
            self.report("progress")

    def crashed(self, data: bytes, exc: BaseException) -> None:
        stats = self.stats
        sig = signature(exc)
        stats.crashes += 1
        stats.crash_signatures[sig] += 1
        if stats.crash_signatures[sig] <= KEEP_PER_SIGNATURE:
            note = f"{sig}\n\n" + "".join(traceback.format_exception(exc))
            saved = save_input(self.job.crash_dir, "crash", data, note)
            stats.saved.append(str(saved))
        self.report("progress")

    def report(self, kind: str) -> None:
        self.stats.rss_end_mb = rss_mb()
        self.stats.rss_peak_mb = rss_mb(field_name="VmHWM")
        self.stats.run_seconds = time.monotonic() - self._started
        self.conn.send(self.stats.message(kind))

    def finish(self) -> None:
        self.report("done")
        self.conn.close()
        sys.stdout.flush()
        sys.stderr.flush()
        # libFuzzer's loop has no way out but exit; hypothesis's would return, but one path
        # for both keeps the end the same.
        os._exit(0)

    def ready(self, load_started: float) -> None:
        self.stats.load_seconds = time.monotonic() - load_started
        self.stats.rss_start_mb = rss_mb()
        self._started = self._last_report = time.monotonic()
        self.report("ready")


def _seeds(job: Job) -> list[bytes]:
    from services.devtools.fuzzcorpus import extra_seeds, seeds_for

    return [*seeds_for(job.target), *extra_seeds(job.extra_corpus)]


def _hypothesis(worker: Worker, seeds: list[bytes]) -> Callable[[], None]:
    """The hypothesis engine, imported and built (the strategies take seconds to import)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    from services.devtools.fuzzstrategies import strategy_for

    strategy = strategy_for(worker.job.target, seeds)

    def run() -> None:
        # A strategy can run out of distinct inputs before `cases` (hypothesis stops
        # then): go round again with the next seed, as many times as it takes.
        for _ in range(1000):
            if worker.stats.cases >= worker.job.cases:
                return

            @hypothesis_seed(worker.job.seed)
            @settings(
                max_examples=worker.job.cases - worker.stats.cases,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
            )
            @given(strategy)
            def fuzz(data: bytes) -> None:
                worker.case(data)

            fuzz()
            worker.job.seed += 1

    return run


def _atheris(worker: Worker, seeds: list[bytes]) -> Callable[[], None]:
    """libFuzzer set up on a corpus folder that starts with the seeds and keeps what it finds."""
    import atheris  # type: ignore[import-untyped,unused-ignore]

    corpus = worker.job.corpus_dir
    assert corpus is not None
    corpus.mkdir(parents=True, exist_ok=True)
    for data in seeds:
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
    argv = [
        "fuzz",
        f"-seed={worker.job.seed}",
        f"-max_len={worker.target.max_len}",
        # The runner owns time and memory limits (it can name the input that broke them).
        # -timeout=0 does not switch atheris 3.0.0's own alarm off: it fired after 1 s on a
        # loaded machine and the case was reported as a crash. Far above the runner's limit.
        f"-timeout={max(1, int(worker.job.case_timeout * 6))}",
        "-rss_limit_mb=0",
        "-print_final_stats=0",
        str(corpus),
    ]
    atheris.Setup(argv, worker.case)
    return atheris.Fuzz  # type: ignore[no-any-return]


def main(job: Job, conn: Connection) -> None:
    """The worker process: load, seed, then run `job.cases` cases with its engine."""
    # libFuzzer and the libraries talk on stdout/stderr; keep it out of the runner's output.
    log = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    load_started = time.monotonic()
    if job.engine == "atheris":
        import atheris  # type: ignore[import-untyped,unused-ignore]

        from services.devtools.fuzztargets import TARGETS

        target = TARGETS[job.target]
        # Instrument the services' modules as they load, so libFuzzer sees their branches.
        with atheris.instrument_imports(include=list(target.instrument)):
            seeds = _seeds(job)
            if target.load is not None:
                target.load()
            worker = Worker(job, conn)
            for data in seeds[:50]:  # imports every module the target touches, under cover
                with contextlib.suppress(Exception):  # crashes are found again in the run
                    target.run(data)
    else:
        seeds = _seeds(job)
        worker = Worker(job, conn)
        if worker.target.load is not None:
            worker.target.load()
        # The same warm-up as under atheris: memory at the start is measured with every
        # module the target touches loaded, so growth is what the cases themselves cost.
        for data in seeds[:50]:
            with contextlib.suppress(Exception):
                worker.target.run(data)
    engine = _atheris(worker, seeds) if job.engine == "atheris" else _hypothesis(worker, seeds)
    worker.ready(load_started)
    engine()
    worker.finish()
