"""Extraction quality on trafilatura's evaluation set, scored with its snippet metric.

The dataset folder (trafilatura-eval-dev) holds `html/<name>.html.gz` (pages as saved,
charset as served) and `evaldata.json` (`{key: {"file", "with", "without"}}`). Each
page is decoded as the cleaner's offline reader does (BOM, `<meta charset>`, else
UTF-8) and given to each extractor; `scoring.snippets` counts which `with` snippets
(main-text sentences) and `without` snippets (boilerplate) its text contains.
Precision, recall and F1 are over all snippets of all pages, as trafilatura's
tests/comparison.py computes them.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.charset import decode_body
from services.devtools import scoring
from services.devtools.evalrun import Extractor, Run, run_extractors
from services.devtools.scoring import is_lost

WORST = 15


@dataclass(frozen=True)
class SnippetDoc:
    id: str
    url: str
    html: str
    with_: tuple[str, ...]
    without: tuple[str, ...]


def is_snippet_dataset(root: Path) -> bool:
    return (root / "evaldata.json").is_file() and (root / "html").is_dir()


def load_dataset(root: Path) -> list[SnippetDoc]:
    """Every page of evaldata.json, sorted by key; a page without its HTML file is an error."""
    data: dict[str, dict[str, Any]] = json.loads(
        (root / "evaldata.json").read_text(encoding="utf-8")
    )
    docs = []
    for key in sorted(data):
        entry = data[key]
        path = root / "html" / str(entry["file"])
        if not path.is_file():
            raise FileNotFoundError(f"evaldata names {key} but {path} is missing")
        html = decode_body(gzip.decompress(path.read_bytes()), None)[0]
        docs.append(
            SnippetDoc(
                id=key,
                url=str(entry.get("url") or entry["file"]),
                html=html,
                with_=tuple(s for s in entry.get("with") or () if s),
                without=tuple(s for s in entry.get("without") or () if s),
            )
        )
    return docs


def build_report(
    docs: Sequence[SnippetDoc],
    runs: Mapping[str, Run],
    *,
    bare: str = "trafilatura",
    worst: int = WORST,
) -> dict[str, Any]:
    """Totals per extractor, per-page counts, lost articles and the worst pages for newswire."""
    names = list(runs)
    counts = {
        name: [
            scoring.snippets(pred, doc.with_, doc.without)
            for doc, pred in zip(docs, run.predictions, strict=True)
        ]
        for name, run in runs.items()
    }
    totals: dict[str, dict[str, Any]] = {}
    for name in names:
        t, run = scoring.snippet_totals(counts[name]), runs[name]
        totals[name] = {
            "precision": round(t.precision, 4),
            "recall": round(t.recall, 4),
            "f1": round(t.f1, 4),
            "tp": t.tp,
            "fn": t.fn,
            "fp": t.fp,
            "tn": t.tn,
            "docs_per_s": round(len(docs) / run.seconds, 2) if run.seconds > 0 else None,
            "cpu_docs_per_s": round(len(docs) / run.cpu_seconds, 2)
            if run.cpu_seconds > 0
            else None,
            "empty": sum(1 for p in run.predictions if not p.strip()),
            "errors": len(run.errors),
            "crashes": len(run.crashes),
            "nondeterministic": len(run.nondeterministic),
        }
    documents: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        row: dict[str, Any] = {"id": doc.id, "url": doc.url}
        for name in names:
            c = counts[name][i]
            cell: dict[str, Any] = {
                "tp": c.tp,
                "fn": c.fn,
                "fp": c.fp,
                "tn": c.tn,
                "chars": len(runs[name].predictions[i]),
            }
            error = runs[name].errors.get(doc.id) or runs[name].crashes.get(doc.id)
            if error:
                cell["error"] = error
            row[name] = cell
        documents.append(row)

    summary: dict[str, Any] = {"docs": len(docs)}
    for name in names:
        summary[name] = {k: totals[name][k] for k in ("precision", "recall", "f1", "docs_per_s")}
    lost: list[dict[str, Any]] = []
    worst_docs: list[dict[str, Any]] = []
    if "newswire" in runs and bare in runs:
        ours_p, bare_p = runs["newswire"].predictions, runs[bare].predictions
        for i, doc in enumerate(docs):
            if is_lost(ours_p[i], bare_p[i]):
                lost.append(
                    {"id": doc.id, "newswire_chars": len(ours_p[i]), "bare_chars": len(bare_p[i])}
                )
        summary["lost_articles"] = len(lost)
        summary["f1_margin"] = round(totals["newswire"]["f1"] - totals[bare]["f1"], 4)

        # Worst first: snippets newswire gets wrong that the bare library gets right.
        def cost(i: int) -> int:
            ours, theirs = counts["newswire"][i], counts[bare][i]
            return (ours.fn + ours.fp) - (theirs.fn + theirs.fp)

        for i in sorted(range(len(docs)), key=lambda i: (-cost(i), docs[i].id))[:worst]:
            if cost(i) <= 0:
                break
            ours, theirs = counts["newswire"][i], counts[bare][i]
            flat = scoring.squash(ours_p[i])
            worst_docs.append(
                {
                    "id": docs[i].id,
                    "newswire": {"tp": ours.tp, "fn": ours.fn, "fp": ours.fp},
                    bare: {"tp": theirs.tp, "fn": theirs.fn, "fp": theirs.fp},
                    "missed": [s for s in docs[i].with_ if scoring.squash(s) not in flat],
                    "kept_boilerplate": [
                        s for s in docs[i].without if flat and scoring.squash(s) in flat
                    ],
                }
            )
    return {
        "summary": summary,
        "totals": totals,
        "lost": lost,
        "worst": worst_docs,
        "crashes": {name: run.crashes for name, run in runs.items() if run.crashes},
        "documents": documents,
    }


def evaluate(
    root: Path,
    extractors: Mapping[str, Extractor],
    *,
    passes: int = 1,
    bare: str = "trafilatura",
    worst: int = WORST,
) -> dict[str, Any]:
    docs = load_dataset(root)
    runs = run_extractors(docs, extractors, passes=passes)
    report = build_report(docs, runs, bare=bare, worst=worst)
    report["setup"] = {
        "dataset": str(root),
        "passes": max(1, passes),
        "scoring": "trafilatura tests/comparison.py: snippets in the text, whitespace normalised",
    }
    return report


def print_report(report: dict[str, Any]) -> None:
    summary, totals = report["summary"], report["totals"]
    print(f"snippet evaluation: {summary['docs']} pages ({report['setup']['dataset']})")
    print(
        f"  {'extractor':<26} {'precision':>9} {'recall':>7} {'f1':>6} {'docs/s':>7} "
        f"{'empty':>5} {'errors':>6} {'crashes':>7}"
    )
    for name, t in totals.items():
        print(
            f"  {name:<26} {t['precision']:>9.4f} {t['recall']:>7.4f} {t['f1']:>6.4f} "
            f"{t['docs_per_s'] or 0:>7.1f} {t['empty']:>5} {t['errors']:>6} {t['crashes']:>7}"
        )
    if "lost_articles" in summary:
        print(
            f"  lost articles: {summary['lost_articles']}; "
            f"F1 newswire - trafilatura: {summary['f1_margin']:+.4f}"
        )
    for w in report["worst"][:5]:
        print(f"  worse than trafilatura: {w['id']} missed {len(w['missed'])}")
