"""The cleaner's speed and memory against bare trafilatura, same pages, same run.

    python -m services.devtools.benchcleaner DATASET_DIR --out results/bench-cleaner.json

DATASET_DIR holds HTML pages (`*.html`, `*.html.gz`, searched recursively: the
article extraction benchmark's `html/` folder works as is). Two paths run over
the same pages, each in a fresh child process so that neither one's memory
counts for the other:

* newswire: `handle_page`, the function the cleaner agent runs, on each page as a
  `newswire.pages` record (decoding, the extraction process pool with its time
  limit, metadata, article encoding), one page after another as the agent does;
* trafilatura: `trafilatura.extract(html)` with its default settings.

Speed is pages per second over the whole set (wall clock, fastest of --passes
passes, after one untimed warm-up page) and CPU milliseconds per page, counted
over the child and all its descendants (the pool's workers). Memory is the peak,
over the child's lifetime, of the summed RSS of its process tree (and of the
summed PSS, which counts pages shared between forked workers once), sampled from
/proc by this parent. Then the parent runs the cleaner's extraction once more over the
pages, in its own process, to report the rescue path's cost (`rescue`: the share of
pages where trafilatura's default extraction ran as a check, the share where its body
replaced the cleaner's, and the check's CPU milliseconds per page of the whole set,
which the newswire path's CPU includes). The results go to --out; the last line of stdout is one
JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PATHS = ("newswire", "trafilatura")
SAMPLE_SECONDS = 0.02
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz")


# --- /proc: the measured process and its descendants ---------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def _status_kb(pid: int, field: str) -> int:
    name = "smaps_rollup" if field == "Pss" else "status"
    try:
        text = Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(summed RSS, summed PSS) of `pid` and its descendants, in KiB."""
    pids = process_tree(pid)
    return sum(_status_kb(p, "VmRSS") for p in pids), sum(_status_kb(p, "Pss") for p in pids)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its living descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLOCK_TICKS


# --- child: one path over the pages -----------------------------------------------------


def load_pages(root: Path, limit: int | None = None) -> list[tuple[str, str]]:
    """(source, html) of every HTML page under `root`, sorted by path."""
    from services.cleaner.offline import documents, expand

    sources = [s for s in expand([str(root)]) if s.endswith(HTML_SUFFIXES)][:limit]
    return [(d.source, d.body) for d in documents(sources, sys.stdin)]


def _timed_passes(
    call: Callable[[int], str | None], count: int, passes: int
) -> tuple[list[float], list[float], Counter[str]]:
    """Wall and tree-CPU seconds per pass; error reasons of the first pass."""
    pid = os.getpid()
    call(0)  # warm-up: the pool's processes, trafilatura's lazy set-up
    walls, cpus = [], []
    errors: Counter[str] = Counter()
    for n in range(max(1, passes)):
        cpu0, wall0 = tree_cpu_seconds(pid), time.perf_counter()
        for i in range(count):
            reason = call(i)
            if reason is not None and n == 0:
                errors[reason] += 1
        walls.append(time.perf_counter() - wall0)
        cpus.append(tree_cpu_seconds(pid) - cpu0)
    return walls, cpus, errors


def _newswire_call(pages: list[tuple[str, str]], workers: int) -> Callable[[int], str | None]:
    from services.cleaner.pipeline import handle_page
    from services.common.errors import NewswireError
    from services.common.models import Entry, Page, encode
    from services.common.settings import Settings
    from services.common.urls import article_id

    settings = Settings(cleaner_workers=workers)
    records = []
    for source, html in pages:
        url = Path(source).resolve().as_uri()
        entry = Entry(entry_id=source, feed_url="file:", link=url)
        records.append(encode(Page.direct(article_id(url), entry, html, "text/html")))
    pages.clear()  # the agent holds record bytes only, not a second copy of each page
    loop = asyncio.new_event_loop()

    def call(i: int) -> str | None:
        try:
            loop.run_until_complete(handle_page(records[i], settings.cleaner))
        except NewswireError as exc:
            return exc.reason
        return None

    return call


def _trafilatura_call(pages: list[tuple[str, str]]) -> Callable[[int], str | None]:
    import trafilatura

    htmls = [html for _, html in pages]
    pages.clear()

    def call(i: int) -> str | None:
        return None if trafilatura.extract(htmls[i]) else "empty"

    return call


def measure(path: str, root: Path, *, passes: int, workers: int, limit: int | None) -> None:
    """Child process: run one path, print its figures as one JSON line."""
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    pages = load_pages(root, limit)
    count = len(pages)
    if count == 0:
        raise SystemExit(f"no HTML pages under {root}")
    call = _newswire_call(pages, workers) if path == "newswire" else _trafilatura_call(pages)
    walls, cpus, errors = _timed_passes(call, count, passes)
    print(
        json.dumps(
            {"docs": count, "pass_seconds": walls, "pass_cpu_seconds": cpus, "errors": errors}
        )
    )


# --- parent: both paths, sampled, compared ----------------------------------------------


def rescue_cost(root: Path, limit: int | None) -> dict[str, Any]:
    """How often the cleaner's rescue ran and replaced the body, and its CPU per page."""
    from services.cleaner import rescue
    from services.cleaner.extract import extract
    from services.common.errors import NewswireError

    pages = load_pages(root, limit)
    runs, cpu = 0, 0.0
    default_extraction = rescue.default_extraction

    def timed(html: str) -> list[str]:
        nonlocal runs, cpu
        start = time.process_time()
        try:
            return default_extraction(html)
        finally:
            runs += 1
            cpu += time.process_time() - start

    rescue.default_extraction = timed
    replaced = 0
    try:
        for _, html in pages:
            with contextlib.suppress(NewswireError):
                replaced += extract(html, "text/html", max_chars=len(html) + 1).rescued is not None
    finally:
        rescue.default_extraction = default_extraction
    docs = max(1, len(pages))
    return {
        "ran": runs,
        "replaced": replaced,
        "ran_share": round(runs / docs, 4),
        "replaced_share": round(replaced / docs, 4),
        "cpu_ms_per_doc": round(1000 * cpu / docs, 2),
        "cpu_ms_per_run": round(1000 * cpu / runs, 2) if runs else None,
    }


def run_child(path: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "services.devtools.benchcleaner",
        str(args.dataset),
        "--measure",
        path,
        "--passes",
        str(args.passes),
        "--workers",
        str(args.workers),
    ]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    peak_rss = peak_pss = 0
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out)
        while proc.poll() is None:
            rss, pss = tree_memory_kb(proc.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(SAMPLE_SECONDS)
        out.seek(0)
        lines = out.read().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{path} run failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1])
    docs, wall, cpu = result["docs"], min(result["pass_seconds"]), min(result["pass_cpu_seconds"])
    result.update(
        docs_per_s=round(docs / wall, 2) if wall > 0 else None,
        cpu_ms_per_doc=round(1000 * cpu / docs, 2),
        peak_rss_mb=round(peak_rss / 1024, 1),
        peak_pss_mb=round(peak_pss / 1024, 1),
    )
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def headline(
    runs: dict[str, dict[str, Any]], workers: int, rescued: dict[str, Any] | None = None
) -> dict[str, Any]:
    ours, bare = runs["newswire"], runs["trafilatura"]
    rescued = rescued or {}
    return {
        "docs": ours["docs"],
        "workers": workers,
        "docs_per_s": ours["docs_per_s"],
        "bare_docs_per_s": bare["docs_per_s"],
        "ratio": _ratio(ours["docs_per_s"], bare["docs_per_s"]),
        "cpu_ms_per_doc": ours["cpu_ms_per_doc"],
        "bare_cpu_ms_per_doc": bare["cpu_ms_per_doc"],
        # On a loaded machine CPU time is the figure to compare, not docs/s.
        "cpu_ratio": _ratio(bare["cpu_ms_per_doc"], ours["cpu_ms_per_doc"]),
        "rescue_ran_share": rescued.get("ran_share"),
        "rescue_replaced_share": rescued.get("replaced_share"),
        "rescue_cpu_ms_per_doc": rescued.get("cpu_ms_per_doc"),
        "peak_rss_mb": ours["peak_rss_mb"],
        "bare_peak_rss_mb": bare["peak_rss_mb"],
        "rss_ratio": _ratio(ours["peak_rss_mb"], bare["peak_rss_mb"]),
        "peak_pss_mb": ours["peak_pss_mb"],
        "bare_peak_pss_mb": bare["peak_pss_mb"],
        "errors": sum(ours["errors"].values()),
        "bare_empty": sum(bare["errors"].values()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchcleaner", description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, help="folder of HTML pages (searched recursively)")
    parser.add_argument("--out", type=Path, default=Path("results/bench-cleaner.json"))
    parser.add_argument("--passes", type=int, default=2, help="timing passes; the fastest counts")
    parser.add_argument("--workers", type=int, default=1, help="the cleaner's extraction processes")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--measure", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.dataset.is_dir():
        parser.error(f"{args.dataset} is not a folder")
    if args.measure:
        measure(
            args.measure, args.dataset, passes=args.passes, workers=args.workers, limit=args.limit
        )
        return 0
    runs = {path: run_child(path, args) for path in PATHS}
    rescued = rescue_cost(args.dataset, args.limit)
    head = headline(runs, args.workers, rescued)
    report = {
        "headline": head,
        "runs": runs,
        "rescue": rescued,
        "setup": {
            "dataset": str(args.dataset),
            "passes": max(1, args.passes),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"cleaner benchmark: {head['docs']} pages, best of {max(1, args.passes)} passes")
    print(
        f"  {'path':<12} {'docs/s':>8} {'cpu ms/doc':>10} {'peak RSS MB':>11} {'peak PSS MB':>11}"
    )
    for path, run in runs.items():
        print(
            f"  {path:<12} {run['docs_per_s']:>8} {run['cpu_ms_per_doc']:>10} "
            f"{run['peak_rss_mb']:>11} {run['peak_pss_mb']:>11}"
        )
    print(
        f"  newswire / trafilatura: {head['ratio']} speed, {head['cpu_ratio']} speed in CPU, "
        f"{head['rss_ratio']} peak RSS"
    )
    print(
        f"  rescue: ran on {rescued['ran']} pages ({rescued['ran_share']:.1%}), replaced the "
        f"body on {rescued['replaced']} ({rescued['replaced_share']:.1%}), "
        f"{rescued['cpu_ms_per_doc']} CPU ms/page of the set"
    )
    print(f"  full results: {args.out}")
    print(json.dumps(head))
    return 0


if __name__ == "__main__":
    sys.exit(main())
