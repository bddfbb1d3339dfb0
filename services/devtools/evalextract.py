"""Extraction quality and speed: Newswire's cleaner against bare trafilatura, same pages, same run.

    python -m services.devtools.evalextract [DATASETS_DIR] --out results/eval-extract.json

DATASETS_DIR (default ../shared/datasets) holds `article-extraction-benchmark` and
`trafilatura-eval-dev`: both are scored in one run (the second with trafilatura's
snippet metric, see `evalsnippets`), and the last line holds both sets' figures and
their "lost articles" (pages where bare trafilatura's text has at least 500
characters and the cleaner's body is under 30% of it, or no_content). Given one
dataset folder instead, only that one is scored (the older invocation).

The article extraction benchmark of Scrapinghub/Zyte is
`html/<id>.html.gz` (gzip-compressed UTF-8 pages) and `ground-truth.json`
(`{id: {"articleBody", "url"}}`). Each page is decoded as UTF-8 (errors replaced)
and given to each extractor:

* newswire: the cleaner's pure entry point, `extract(html, "text/html").text`; an
  ExtractionError (NoContentError included) is an empty prediction;
* trafilatura: `trafilatura.extract(html)` with its default settings;
* trafilatura_precision: the same with `favor_precision=True`;
* trafilatura_no_comments, trafilatura_precision_no_comments: both again with
  `include_comments=False`, the setting of the benchmark's own runner
  (extractors/run_trafilatura.py) and of the cleaner: these rows reproduce the
  published trafilatura figures, so they are the like-for-like comparison.
  trafilatura_no_comments (`fast=False, include_comments=False,
  include_tables=True`) is "bare trafilatura" for the lost-article count.

Scores follow the benchmark's own evaluate.py (see `scoring`): 4-token shingles,
precision and recall averaged over documents, F1 from the two averages. Speed is
documents per second with `time.perf_counter` around the extraction calls only
(and, beside it, `time.process_time`: CPU seconds, less disturbed by other work on
a shared machine): each extractor runs over every page once per pass, passes are
interleaved (every extractor in turn, then again) and the fastest pass counts.
The first pass's output is scored; a later pass that gives different text is
reported as nondeterministic.

Full per-document results and the documents where Newswire does worst (the ones
to tune on next) go to --out; a short table is printed and the last line of
stdout is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trafilatura

from services.cleaner.extract import extract
from services.common.errors import ExtractionError
from services.devtools import evalsnippets, scoring
from services.devtools.evalrun import ExpectedEmpty, Extractor, Run, run_extractors

MAX_CHARS = 10**8  # the benchmark's pages are never refused for size
WORST = 15
DIAGNOSTIC_SPANS = 3  # extra/missing stretches of text kept per worst document
DIAGNOSTIC_CHARS = 160


def newswire(html: str) -> str:
    try:
        return extract(html, "text/html", max_chars=MAX_CHARS).text
    except ExtractionError as exc:
        raise ExpectedEmpty(f"{type(exc).__name__}: {exc}") from exc


def bare_trafilatura(html: str) -> str:
    text: str | None = trafilatura.extract(html)
    return text or ""


def trafilatura_precision(html: str) -> str:
    text: str | None = trafilatura.extract(html, favor_precision=True)
    return text or ""


def trafilatura_no_comments(html: str) -> str:
    text: str | None = trafilatura.extract(
        html, fast=False, include_comments=False, include_tables=True
    )
    return text or ""


def trafilatura_precision_no_comments(html: str) -> str:
    text: str | None = trafilatura.extract(html, include_comments=False, favor_precision=True)
    return text or ""


EXTRACTORS: dict[str, Extractor] = {
    "newswire": newswire,
    "trafilatura": bare_trafilatura,
    "trafilatura_precision": trafilatura_precision,
    "trafilatura_no_comments": trafilatura_no_comments,
    "trafilatura_precision_no_comments": trafilatura_precision_no_comments,
}
# Short column heads for the printed table.
# The bare library as the cleaner would be without its own work: the lost-article baseline.
BARE = "trafilatura_no_comments"
BENCHMARK = "article-extraction-benchmark"
SNIPPETS = "trafilatura-eval-dev"
SHORT_NAMES = {
    "trafilatura": "traf",
    "trafilatura_precision": "traf_p",
    "trafilatura_no_comments": "traf_nc",
    "trafilatura_precision_no_comments": "traf_p_nc",
}


@dataclass(frozen=True)
class Doc:
    id: str
    url: str
    html: str
    gold: str


def load_dataset(root: Path) -> list[Doc]:
    """Every page of the ground truth, sorted by id; a page without its HTML file is an error."""
    truth: dict[str, dict[str, Any]] = json.loads(
        (root / "ground-truth.json").read_text(encoding="utf-8")
    )
    docs = []
    for doc_id in sorted(truth):
        path = root / "html" / f"{doc_id}.html.gz"
        if not path.is_file():
            raise FileNotFoundError(f"ground truth names {doc_id} but {path} is missing")
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        entry = truth[doc_id]
        docs.append(Doc(doc_id, str(entry.get("url") or ""), html, entry.get("articleBody") or ""))
    return docs


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _longest(spans: list[str]) -> list[str]:
    """The longest few spans, in their order in the text, each cut to a readable length."""
    keep = sorted(sorted(range(len(spans)), key=lambda i: -len(spans[i]))[:DIAGNOSTIC_SPANS])
    return [
        spans[i] if len(spans[i]) <= DIAGNOSTIC_CHARS else spans[i][: DIAGNOSTIC_CHARS - 1] + "…"
        for i in keep
    ]


def _unmatched_tokens(text: str, other: str) -> int:
    return sum(len(scoring.tokenize(span)) for span in scoring.unmatched_spans(text, other))


def build_report(
    docs: Sequence[Doc], runs: Mapping[str, Run], *, worst: int = WORST
) -> dict[str, Any]:
    """Per-document scores, totals per extractor and the worst documents for newswire."""
    names = list(runs)
    matches = {
        name: [
            scoring.match(doc.gold, pred) for doc, pred in zip(docs, run.predictions, strict=True)
        ]
        for name, run in runs.items()
    }
    documents: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        row: dict[str, Any] = {"id": doc.id, "url": doc.url}
        for name in names:
            m = matches[name][i]
            cell: dict[str, Any] = {
                "p": _round(m.precision),
                "r": _round(m.recall),
                "f1": _round(m.f1),
                "chars": len(runs[name].predictions[i]),
            }
            error = runs[name].errors.get(doc.id) or runs[name].crashes.get(doc.id)
            if error:
                cell["error"] = error
            row[name] = cell
        documents.append(row)

    totals: dict[str, dict[str, Any]] = {}
    for name in names:
        agg = scoring.aggregate(matches[name])
        run = runs[name]
        totals[name] = {
            "precision": round(agg.precision, 4),
            "recall": round(agg.recall, 4),
            "f1": round(agg.f1, 4),
            "docs_per_s": round(len(docs) / run.seconds, 2) if run.seconds > 0 else None,
            "seconds": round(run.seconds, 3),
            "pass_seconds": [round(s, 3) for s in run.pass_seconds],
            # CPU time is less disturbed by other processes on a shared machine.
            "cpu_docs_per_s": round(len(docs) / run.cpu_seconds, 2)
            if run.cpu_seconds > 0
            else None,
            "pass_cpu_seconds": [round(s, 3) for s in run.pass_cpu_seconds],
            "precision_docs": agg.precision_docs,
            "recall_docs": agg.recall_docs,
            "empty": sum(1 for p in run.predictions if not scoring.tokenize(p)),
            "errors": len(run.errors),
            "crashes": len(run.crashes),
            "nondeterministic": len(run.nondeterministic),
        }

    summary: dict[str, Any] = {"docs": len(docs)}
    for name in names:
        summary[name] = {k: totals[name][k] for k in ("precision", "recall", "f1", "docs_per_s")}
    ours, theirs = totals.get("newswire"), totals.get("trafilatura")
    if ours and theirs and ours["docs_per_s"] and theirs["docs_per_s"]:
        summary["speed_ratio"] = round(ours["docs_per_s"] / theirs["docs_per_s"], 3)
    if ours and theirs and ours["cpu_docs_per_s"] and theirs["cpu_docs_per_s"]:
        summary["speed_ratio_cpu"] = round(ours["cpu_docs_per_s"] / theirs["cpu_docs_per_s"], 3)
    lost: list[dict[str, Any]] = []
    if "newswire" in runs and BARE in runs:
        ours_p, bare_p = runs["newswire"].predictions, runs[BARE].predictions
        lost = [
            {"id": doc.id, "newswire_chars": len(ours_p[i]), "bare_chars": len(bare_p[i])}
            for i, doc in enumerate(docs)
            if scoring.is_lost(ours_p[i], bare_p[i])
        ]
        summary["lost_articles"] = len(lost)

    worst_docs: list[dict[str, Any]] = []
    if "newswire" in runs:
        order = sorted(range(len(docs)), key=lambda i: (matches["newswire"][i].f1, docs[i].id))
        for i in order[:worst]:
            doc, ours_m = docs[i], matches["newswire"][i]
            pred = runs["newswire"].predictions[i]
            entry: dict[str, Any] = {
                "id": doc.id,
                "url": doc.url,
                "newswire": {
                    "p": _round(ours_m.precision),
                    "r": _round(ours_m.recall),
                    "f1": _round(ours_m.f1),
                },
            }
            # diff: newswire's F1 minus the other extractor's, on this document.
            entry["vs"] = {
                name: {
                    "f1": _round(matches[name][i].f1),
                    "diff": round(ours_m.f1 - matches[name][i].f1, 4),
                }
                for name in names
                if name != "newswire"
            }
            # What to look at first: the longest stretches of cruft and of missed text.
            entry["extra_tokens"] = _unmatched_tokens(pred, doc.gold)
            entry["extra"] = _longest(scoring.unmatched_spans(pred, doc.gold))
            entry["missing_tokens"] = _unmatched_tokens(doc.gold, pred)
            entry["missing"] = _longest(scoring.unmatched_spans(doc.gold, pred))
            error = runs["newswire"].errors.get(doc.id) or runs["newswire"].crashes.get(doc.id)
            if error:
                entry["error"] = error
            worst_docs.append(entry)

    return {
        "summary": summary,
        "totals": totals,
        "lost": lost,
        "worst": worst_docs,
        "crashes": {name: run.crashes for name, run in runs.items() if run.crashes},
        "nondeterministic": {
            name: run.nondeterministic for name, run in runs.items() if run.nondeterministic
        },
        "documents": documents,
    }


def evaluate(
    root: Path,
    *,
    extractors: Mapping[str, Extractor] | None = None,
    passes: int = 2,
    worst: int = WORST,
) -> dict[str, Any]:
    """Load the dataset at `root`, run the extractors, score them: the whole report."""
    docs = load_dataset(root)
    runs = run_extractors(docs, EXTRACTORS if extractors is None else extractors, passes=passes)
    report = build_report(docs, runs, worst=worst)
    report["setup"] = {
        "dataset": str(root),
        "passes": max(1, passes),
        "trafilatura": trafilatura.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "scoring": "scrapinghub/article-extraction-benchmark evaluate.py: 4-token shingles",
    }
    return report


def _fmt(value: float | None, width: int, digits: int = 3) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _print_report(report: dict[str, Any], out: Path) -> None:
    totals = report["totals"]
    print(
        f"extraction benchmark: {report['summary']['docs']} documents, "
        f"best of {report['setup']['passes']} timing passes"
    )
    print(
        f"  {'extractor':<33} {'precision':>9} {'recall':>7} {'f1':>6} {'docs/s':>7} "
        f"{'cpu d/s':>7} {'empty':>5} {'errors':>6} {'crashes':>7}"
    )
    for name, t in totals.items():
        print(
            f"  {name:<33} {_fmt(t['precision'], 9)} {_fmt(t['recall'], 7)} {_fmt(t['f1'], 6)} "
            f"{_fmt(t['docs_per_s'], 7, 1)} {_fmt(t['cpu_docs_per_s'], 7, 1)} "
            f"{t['empty']:>5} {t['errors']:>6} {t['crashes']:>7}"
        )
    if "speed_ratio" in report["summary"]:
        print(
            f"  speed newswire / trafilatura: {report['summary']['speed_ratio']:.2f} wall clock, "
            f"{report['summary'].get('speed_ratio_cpu', 0):.2f} CPU time"
        )
    for name, ids in report["nondeterministic"].items():
        print(f"  NONDETERMINISTIC {name}: {len(ids)} documents differ between passes")
    for name, crashes in report["crashes"].items():
        for doc_id, error in list(crashes.items())[:5]:
            print(f"  CRASH {name} {doc_id[:12]}: {error}")
    if report["worst"]:
        others = list(report["worst"][0]["vs"])
        head = " ".join(f"{SHORT_NAMES.get(o, o)[:9]:>9}" for o in others)
        print(
            f"  worst {len(report['worst'])} documents by newswire F1"
            " (other extractors' F1; diff = newswire - trafilatura):"
        )
        print(f"  {'id':<12} {'p':>5} {'r':>5} {'f1':>5} {head} {'diff':>6}  url")
        for w in report["worst"]:
            ours, vs = w["newswire"], w["vs"]
            cols = " ".join(_fmt(vs[o]["f1"], 9) for o in others)
            diff = vs["trafilatura"]["diff"] if "trafilatura" in vs else None
            diff_col = f"{diff:>+6.3f}" if diff is not None else f"{'-':>6}"
            print(
                f"  {w['id'][:12]:<12} {_fmt(ours['p'], 5, 2)} {_fmt(ours['r'], 5, 2)} "
                f"{_fmt(ours['f1'], 5, 2)} {cols} {diff_col}  {w['url']}"
            )
    print(f"  full results: {out}")


def _is_benchmark(root: Path) -> bool:
    return (root / "ground-truth.json").is_file() and (root / "html").is_dir()


def _headline(summary: dict[str, Any], bare: str) -> dict[str, Any]:
    """One dataset's figures for the last line: newswire and bare trafilatura, lost articles."""
    out: dict[str, Any] = {"docs": summary["docs"]}
    for name in ("newswire", bare):
        if name in summary:
            out["trafilatura" if name == bare else name] = summary[name]
    for key in ("lost_articles", "speed_ratio"):
        if key in summary:
            out[key] = summary[key]
    if "newswire" in summary and bare in summary:
        out["f1_margin"] = round(summary["newswire"]["f1"] - summary[bare]["f1"], 4)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evalextract", description=__doc__.split("\n")[0])
    parser.add_argument(
        "dataset",
        type=Path,
        nargs="?",
        default=Path("../shared/datasets"),
        help=f"folder holding {BENCHMARK}/ and {SNIPPETS}/, or one of them",
    )
    parser.add_argument("--out", type=Path, default=Path("results/eval-extract.json"))
    parser.add_argument("--passes", type=int, default=2, help="timing passes; the fastest counts")
    parser.add_argument("--worst", type=int, default=WORST, help="worst documents to list")
    args = parser.parse_args(argv)

    if _is_benchmark(args.dataset):
        bench_root, snippet_root = args.dataset, None
    elif evalsnippets.is_snippet_dataset(args.dataset):
        bench_root, snippet_root = None, args.dataset
    elif _is_benchmark(args.dataset / BENCHMARK) and evalsnippets.is_snippet_dataset(
        args.dataset / SNIPPETS
    ):
        bench_root, snippet_root = args.dataset / BENCHMARK, args.dataset / SNIPPETS
    else:
        parser.error(
            f"{args.dataset} is neither a dataset (ground-truth.json or evaldata.json, and "
            f"html/) nor a folder holding {BENCHMARK}/ and {SNIPPETS}/"
        )
    # Extractors' own warnings about odd pages would drown the table.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict[str, Any]] = {}
    if bench_root is not None:
        reports[BENCHMARK] = evaluate(bench_root, passes=args.passes, worst=args.worst)
    if snippet_root is not None:
        reports[SNIPPETS] = evalsnippets.evaluate(
            snippet_root,
            {"newswire": newswire, "trafilatura": trafilatura_no_comments},
            passes=args.passes,
            worst=args.worst,
        )
    if snippet_root is None:
        # One benchmark folder: the report as it always was.
        report = reports[BENCHMARK]
        args.out.write_text(
            json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        _print_report(report, args.out)
        print(json.dumps(report["summary"]))
        return 1 if report["crashes"].get("newswire") else 0
    args.out.write_text(json.dumps(reports, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if BENCHMARK in reports:
        _print_report(reports[BENCHMARK], args.out)
    evalsnippets.print_report(reports[SNIPPETS])
    print(f"  full results: {args.out}")
    headline = {
        name: _headline(report["summary"], BARE if name == BENCHMARK else "trafilatura")
        for name, report in reports.items()
    }
    print(json.dumps(headline))
    return 1 if any(r["crashes"].get("newswire") for r in reports.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
