"""Fuzz the code that reads what strangers send: feeds, HTTP bodies and charsets, pages,
articles and dedup's records.

    python -m services.devtools.fuzz --cases 100000 --target all --out results/fuzz.json

Each target (`fuzztargets.TARGETS`) gets its cases from two engines in turn: atheris
(libFuzzer's coverage-guided mutation of the repository's seed corpora, over the
services' instrumented code) and hypothesis (structured feeds, pages and records from
`fuzzstrategies`). Every engine runs in a worker process that this runner watches:

- crash: any exception but `NewswireError` and its subclasses (which the stages
  dead-letter), or the worker dying in native code;
- hang: a case still running after `--case-timeout` seconds (the worker is killed and a
  new one runs the cases left);
- memory: resident memory at the start and end of each worker's cases, its peak, and a
  worker over `--max-rss-mb` killed and counted as a crash.

Inputs that crash or hang are saved under `--crash-dir/<target>/` (a `.bin` with the
exact bytes the target took, a `.txt` with the traceback); `fuzztargets.TARGETS[name].run`
replays one. Prints one line per target and, last, one line of JSON; exits 1 when
anything crashed or hung.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.devtools.fuzztargets import ALL, TARGETS
from services.devtools.fuzzworker import (
    SHARED_BYTES,
    Job,
    cpu_seconds,
    read_shared,
    rss_mb,
    save_input,
)
from services.devtools.fuzzworker import main as worker_main

ENGINES = ("atheris", "hypothesis")
# A worker's imports, seed corpus and model loading; not a case, so not under the case limit.
LOAD_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.2
HANG_WALL_FACTOR = 10.0


@dataclass
class EngineRun:
    """What one engine did on one target, over all the workers it took."""

    engine: str
    cases: int = 0
    crashes: int = 0
    hangs: int = 0
    native_crashes: int = 0
    workers: int = 0
    expected: Counter[str] = field(default_factory=Counter)
    crash_signatures: Counter[str] = field(default_factory=Counter)
    saved: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load_seconds: float = 0.0
    slowest_case_seconds: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_growth_mb: float = 0.0
    error: str | None = None

    def add(self, msg: dict[str, Any]) -> None:
        """Fold in the last report of one worker."""
        self.cases += msg["cases"]
        self.crashes += msg["crashes"]
        self.expected.update(msg["expected"])
        self.crash_signatures.update(msg["crash_signatures"])
        self.saved.extend(msg["saved"])
        self.seconds += msg["run_seconds"]
        self.load_seconds += msg["load_seconds"]
        self.slowest_case_seconds = max(self.slowest_case_seconds, msg["slowest_seconds"])
        if not self.rss_start_mb:
            self.rss_start_mb = msg["rss_start_mb"]
        self.rss_end_mb = msg["rss_end_mb"]
        self.rss_peak_mb = max(self.rss_peak_mb, msg["rss_peak_mb"])
        self.rss_growth_mb = max(self.rss_growth_mb, msg["rss_end_mb"] - msg["rss_start_mb"])


@dataclass
class Options:
    case_timeout: float
    max_rss_mb: float
    crash_dir: Path
    work_dir: Path
    corpus: Path | None
    seed: int


def _atheris_error() -> str | None:
    try:
        import atheris  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def run_engine(target: str, engine: str, cases: int, opts: Options) -> EngineRun:
    """`cases` cases of `engine` on `target`, in as many workers as hangs and crashes take."""
    result = EngineRun(engine)
    ctx = multiprocessing.get_context("spawn")
    crash_dir = opts.crash_dir / target
    opts.work_dir.mkdir(parents=True, exist_ok=True)
    shared = opts.work_dir / f"{target}-{engine}.shared"
    log = opts.work_dir / f"{target}-{engine}.log"
    while result.cases < cases:
        shared.write_bytes(bytes(SHARED_BYTES))
        job = Job(
            target=target,
            engine=engine,
            cases=cases - result.cases,
            seed=opts.seed + 1009 * result.workers,
            shared=shared,
            crash_dir=crash_dir,
            log=log,
            corpus_dir=opts.work_dir / f"corpus-{target}",
            extra_corpus=opts.corpus,
            case_timeout=opts.case_timeout,
        )
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=worker_main, args=(job, send), daemon=True)
        proc.start()
        send.close()
        result.workers += 1
        last: dict[str, Any] | None = None
        outcome, ready = "", False
        seen, changed, cpu_at_change = 0, time.monotonic(), 0.0
        while not outcome:
            message = None
            if receive.poll(POLL_SECONDS):
                try:
                    message = receive.recv()
                except EOFError:  # the worker is gone without its "done"
                    proc.join(5)
                    outcome = "died"
                    break
            if message is not None:
                last = message
                if message["kind"] == "ready":
                    ready, changed = True, time.monotonic()
                elif message["kind"] == "done":
                    outcome = "done"
                    break
            if not proc.is_alive() and not receive.poll(0):
                outcome = "died"
                break
            started, _ = read_shared(shared)
            now = time.monotonic()
            cpu = cpu_seconds(proc.pid) if proc.pid is not None else 0.0
            if started != seen:
                seen, changed, cpu_at_change = started, now, cpu
            elif not ready and now - changed > LOAD_TIMEOUT_SECONDS:
                outcome = "load_hang"
            elif ready and (
                # A case that has used its time limit in CPU: on a loaded machine (or at
                # nice 19) wall time alone called cases that were only waiting for a core
                # hangs. A case stuck without using CPU (a deadlock) after 10 times that.
                cpu - cpu_at_change > opts.case_timeout
                or now - changed > HANG_WALL_FACTOR * opts.case_timeout
            ):
                outcome = "hang"
            elif proc.pid is not None and rss_mb(proc.pid) > opts.max_rss_mb:
                outcome = "memory"
        if proc.is_alive():
            proc.kill()
        proc.join()
        receive.close()
        started, data = read_shared(shared)
        if last is not None and last["kind"] != "ready":
            result.add(last)
        elif last is not None:
            result.rss_start_mb = result.rss_start_mb or last["rss_start_mb"]
        if outcome == "done":
            continue
        # The worker's last report may be up to a second old: the shared count is exact.
        result.cases += max(0, started - (last["cases"] if last else 0))
        if outcome == "load_hang" or not started:
            result.error = f"worker {outcome} before its first case (see {log})"
            return result
        note = f"{outcome} after {started} cases of this worker (exit code {proc.exitcode})"
        if outcome == "hang":
            result.hangs += 1
            note = f"hang: no result after {opts.case_timeout:g} s"
        else:
            result.native_crashes += 1
            result.crashes += 1
            result.crash_signatures[f"{outcome}:exit{proc.exitcode}"] += 1
        result.saved.append(str(save_input(crash_dir, outcome, data, note)))
    return result


def engine_shares(cases: int, engines: Sequence[str], hypothesis_share: float) -> list[int]:
    """Cases per engine: hypothesis takes its share (building a structured input costs
    milliseconds), atheris the rest."""
    if len(engines) == 1:
        return [cases]
    structured = round(cases * hypothesis_share)
    return [structured if e == "hypothesis" else cases - structured for e in engines]


def run_target(
    target: str, cases: int, engines: Sequence[str], hypothesis_share: float, opts: Options
) -> dict[str, Any]:
    shares = engine_shares(cases, engines, hypothesis_share)
    runs = [run_engine(target, engine, n, opts) for engine, n in zip(engines, shares, strict=True)]
    exception_types: Counter[str] = Counter()
    for run in runs:
        exception_types.update(run.expected)
        exception_types.update(
            Counter({s.split("@")[0]: n for s, n in run.crash_signatures.items()})
        )
    seconds = sum(r.seconds for r in runs)
    total = sum(r.cases for r in runs)
    return {
        "target": target,
        "cases": total,
        "crashes": sum(r.crashes for r in runs),
        "hangs": sum(r.hangs for r in runs),
        "rss_start_mb": round(min((r.rss_start_mb for r in runs if r.rss_start_mb), default=0), 1),
        "rss_end_mb": round(max((r.rss_end_mb for r in runs), default=0), 1),
        "rss_peak_mb": round(max((r.rss_peak_mb for r in runs), default=0), 1),
        "rss_growth_mb": round(max((r.rss_growth_mb for r in runs), default=0), 1),
        "cases_per_second": round(total / seconds, 1) if seconds else None,
        "slowest_case_seconds": round(max((r.slowest_case_seconds for r in runs), default=0), 3),
        "exception_types": dict(exception_types.most_common()),
        "crash_signatures": dict(sum((r.crash_signatures for r in runs), Counter())),
        "saved_inputs": [p for r in runs for p in r.saved],
        "errors": [f"{r.engine}: {r.error}" for r in runs if r.error],
        "engines": {
            r.engine: {
                "cases": r.cases,
                "crashes": r.crashes,
                "hangs": r.hangs,
                "workers": r.workers,
                "seconds": round(r.seconds, 1),
                "load_seconds": round(r.load_seconds, 1),
                "cases_per_second": round(r.cases / r.seconds, 1) if r.seconds else None,
                "rss_start_mb": round(r.rss_start_mb, 1),
                "rss_end_mb": round(r.rss_end_mb, 1),
                "rss_peak_mb": round(r.rss_peak_mb, 1),
                "rss_growth_mb": round(r.rss_growth_mb, 1),
            }
            for r in runs
        },
    }


def _line(res: dict[str, Any]) -> str:
    engines = ", ".join(f"{name} {e['cases']}" for name, e in res["engines"].items())
    top = ", ".join(f"{k} {v}" for k, v in list(res["exception_types"].items())[:4])
    return (
        f"{res['target']}: {res['cases']} cases ({engines}), {res['crashes']} crashes, "
        f"{res['hangs']} hangs, RSS {res['rss_start_mb']} -> {res['rss_end_mb']} MB "
        f"(growth {res['rss_growth_mb']}, peak {res['rss_peak_mb']}), "
        f"{res['cases_per_second']} cases/s; {top or 'no exceptions'}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases per target")
    parser.add_argument("--target", default="all", help=f"all, or some of {', '.join(ALL)}")
    parser.add_argument("--out", type=Path, default=Path("results/fuzz.json"))
    parser.add_argument("--crash-dir", type=Path, default=Path("results/fuzz-crashes"))
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(".cache/fuzz"),
        help="libFuzzer's growing corpora, worker logs",
    )
    parser.add_argument("--corpus", type=Path, help="extra seed files (a dataset folder)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--hypothesis-share", type=float, default=0.25, help="of each target's cases"
    )
    parser.add_argument("--case-timeout", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--max-rss-mb", type=float, default=4096.0)
    parser.add_argument("--jobs", type=int, default=1, help="targets fuzzed at once")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    names = list(ALL) if args.target == "all" else args.target.split(",")
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; known: {', '.join(TARGETS)}")
    engines = [e for e in args.engines.split(",") if e]
    if any(e not in ENGINES for e in engines) or not engines:
        parser.error(f"--engines: some of {', '.join(ENGINES)}")
    atheris_error = _atheris_error() if "atheris" in engines else None
    if atheris_error:
        print(f"atheris unavailable ({atheris_error}): hypothesis only", file=sys.stderr)
        engines = [e for e in engines if e != "atheris"] or ["hypothesis"]
    opts = Options(
        case_timeout=args.case_timeout,
        max_rss_mb=args.max_rss_mb,
        crash_dir=args.crash_dir,
        work_dir=args.work_dir,
        corpus=args.corpus,
        seed=args.seed,
    )
    began = time.monotonic()
    results: dict[str, dict[str, Any]] = {}

    def one(name: str) -> None:
        results[name] = res = run_target(name, args.cases, engines, args.hypothesis_share, opts)
        print(_line(res), flush=True)

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        list(pool.map(one, names))
    ordered = {n: results[n] for n in names}
    report = {
        "targets": ordered,
        "setup": {
            "cases_per_target": args.cases,
            "engines": engines,
            "hypothesis_share": args.hypothesis_share,
            "atheris_error": atheris_error,
            "case_timeout_seconds": args.case_timeout,
            "max_rss_mb": args.max_rss_mb,
            "seed": args.seed,
            "corpus": str(args.corpus) if args.corpus else None,
            "cpus": os.cpu_count(),
            "seconds": round(time.monotonic() - began, 1),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    crashes = sum(r["crashes"] for r in ordered.values())
    hangs = sum(r["hangs"] for r in ordered.values())
    errors = [f"{n}: {e}" for n, r in ordered.items() for e in r["errors"]]
    print(f"  full results: {args.out}; crashing inputs under {args.crash_dir}/<target>/")
    head = {
        "crashes": crashes,
        "hangs": hangs,
        "errors": errors,
        "targets": {
            n: {
                "cases": r["cases"],
                "crashes": r["crashes"],
                "hangs": r["hangs"],
                "rss_start_mb": r["rss_start_mb"],
                "rss_end_mb": r["rss_end_mb"],
                "rss_growth_mb": r["rss_growth_mb"],
                "cases_per_second": r["cases_per_second"],
                "exception_types": r["exception_types"],
            }
            for n, r in ordered.items()
        },
    }
    print(json.dumps(head))
    return 1 if crashes or hangs or errors else 0


if __name__ == "__main__":
    sys.exit(main())
