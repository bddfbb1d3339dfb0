"""Dedup quality: near-duplicate grouping and story clustering, scored on third-party data.

    python -m services.devtools.evaldedup DATASETS_DIR --out results/eval-dedup.json

(a) Near-duplicates, on `article-extraction-benchmark/`: for every page with a gold
body, four variant texts:

* gold:   the hand-checked article body (ground-truth.json);
* traf:   trafilatura's extraction of the page (default settings);
* half:   the first half of the gold body's words (a variant that keeps part of it);
* page:   the text of the whole page (`trafilatura.html2txt`): the article with all
          the page's navigation, teasers and footer around it.

All variants of all pages go through one `Deduper` in a seeded random order (a copy
may arrive before its original); articles are grouped by following `duplicate_of`
links, and pairwise precision/recall/F1 say whether variants of one page ended in
one group and variants of different pages did not. Pages whose variants are all
empty are skipped.

(b) Stories, on `ecbplus-dev/articles.jsonl`: every article through one `Deduper` in
file order (the CLI's order) and in two seeded shuffles; story ids are scored
against the gold events (`cluster_id`) with B-cubed and pairwise P/R/F1.

Full results go to --out; the last line of stdout is one JSON object with the
headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from services.dedup.config import DedupConfig
from services.dedup.engine import Deduper, Item

VARIANTS = ("gold", "traf", "half", "page")
SEED = 20240601
STORY_SHUFFLE_SEEDS = (1, 2)


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


def _prf(p: float, r: float) -> PRF:
    return PRF(p, r, 2 * p * r / (p + r) if p + r > 0 else 0.0)


def bcubed(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> PRF:
    """Per item: the share of its predicted cluster in its gold cluster, and the reverse."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    if not gold:
        return PRF(1.0, 1.0, 1.0)
    both = Counter(zip(gold, predicted, strict=True))
    gold_sizes, pred_sizes = Counter(gold), Counter(predicted)
    p = r = 0.0
    for (g, c), n in both.items():
        # each of the n items in this cell sees n shared items
        p += n * n / pred_sizes[c]
        r += n * n / gold_sizes[g]
    return _prf(p / len(gold), r / len(gold))


def pairwise(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> PRF:
    """Over all pairs of items: precision and recall of "in the same cluster"."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")

    def pairs(counts: Counter[Hashable]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    together = pairs(Counter(zip(gold, predicted, strict=True)))
    predicted_pairs = pairs(Counter(predicted))
    gold_pairs = pairs(Counter(gold))
    p = together / predicted_pairs if predicted_pairs else 1.0
    r = together / gold_pairs if gold_pairs else 1.0
    return _prf(p, r)


def groups(items: Sequence[tuple[str, str | None]]) -> dict[str, str]:
    """Item id -> group root, following `duplicate_of` links (id, duplicate_of) to the end."""
    parent = {item: of for item, of in items}
    roots: dict[str, str] = {}
    for item, _ in items:
        seen: list[str] = []
        node = item
        while parent.get(node) and node not in seen:
            seen.append(node)
            node = parent[node] or node
        roots[item] = node
    return roots


def half(text: str) -> str:
    """The first half of a text's words."""
    words = text.split()
    return " ".join(words[: max(1, len(words) // 2)])


def page_variants(root: Path) -> list[tuple[str, str, str]]:
    """(page id, variant name, text) for every page of the extraction benchmark."""
    import trafilatura

    truth: dict[str, dict[str, Any]] = json.loads(
        (root / "ground-truth.json").read_text(encoding="utf-8")
    )
    out: list[tuple[str, str, str]] = []
    for page in sorted(truth):
        gold = truth[page].get("articleBody") or ""
        if not gold.strip():
            continue
        html = gzip.decompress((root / "html" / f"{page}.html.gz").read_bytes()).decode(
            "utf-8", errors="replace"
        )
        texts = {
            "gold": gold,
            "traf": trafilatura.extract(html) or "",
            "half": half(gold),
            "page": trafilatura.html2txt(html) or "",
        }
        out.extend((page, name, texts[name]) for name in VARIANTS if texts[name].strip())
    return out


def eval_neardup(variants: Sequence[tuple[str, str, str]], seed: int = SEED) -> dict[str, Any]:
    """Group the variants with one engine, in a seeded random order, and score the groups."""
    order = list(variants)
    random.Random(seed).shuffle(order)
    engine = Deduper(config=DedupConfig())
    links: list[tuple[str, str | None]] = []
    start = time.perf_counter()
    for page, name, text in order:
        result = engine.process(Item(id=f"{page}:{name}", text=text))
        links.append((result.id, result.duplicate_of))
    seconds = time.perf_counter() - start
    roots = groups(links)
    ids = [f"{page}:{name}" for page, name, _ in order]
    gold = [i.split(":")[0] for i in ids]
    predicted = [roots[i] for i in ids]
    # Recall per kind of pair: which variants fail to meet which.
    by_kind: Counter[str] = Counter()
    met: Counter[str] = Counter()
    by_page: dict[str, list[str]] = {}
    for i in ids:
        by_page.setdefault(i.split(":")[0], []).append(i)
    for members in by_page.values():
        for a, b in combinations(sorted(members, key=lambda m: VARIANTS.index(m.split(":")[1])), 2):
            kind = f"{a.split(':')[1]}-{b.split(':')[1]}"
            by_kind[kind] += 1
            met[kind] += roots[a] == roots[b]
    split = sorted(p for p, members in by_page.items() if len({roots[m] for m in members}) > 1)
    merged = sorted(
        {
            r
            for r in predicted
            if len({g for g, q in zip(gold, predicted, strict=True) if q == r}) > 1
        }
    )
    return {
        "pages": len(by_page),
        "articles": len(ids),
        "pairwise": pairwise(gold, predicted).rounded(),
        "bcubed": bcubed(gold, predicted).rounded(),
        "pair_recall_by_kind": {k: round(met[k] / by_kind[k], 4) for k in sorted(by_kind)},
        "pages_split": split,
        "groups_merging_pages": merged,
        "articles_per_s": round(len(ids) / seconds, 1) if seconds > 0 else None,
        "order_seed": seed,
    }


def load_ecb(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def eval_stories(rows: Sequence[dict[str, Any]], order: Sequence[int]) -> dict[str, Any]:
    engine = Deduper(config=DedupConfig())
    story: dict[int, str] = {}
    verdicts: Counter[str] = Counter()
    for i in order:
        row = rows[i]
        result = engine.process(
            Item(id=str(row["id"]), text=row.get("text") or "", title=row.get("title"))
        )
        story[i] = result.story_id
        verdicts[result.verdict] += 1
    gold = [str(rows[i]["cluster_id"]) for i in order]
    predicted = [story[i] for i in order]
    return {
        "bcubed": bcubed(gold, predicted).rounded(),
        "pairwise": pairwise(gold, predicted).rounded(),
        "stories": len(set(predicted)),
        "events": len(set(gold)),
        "verdicts": dict(sorted(verdicts.items())),
    }


def evaluate(datasets: Path) -> dict[str, Any]:
    variants = page_variants(datasets / "article-extraction-benchmark")
    near = eval_neardup(variants)
    rows = load_ecb(datasets / "ecbplus-dev" / "articles.jsonl")
    file_order = eval_stories(rows, range(len(rows)))
    shuffles = {
        str(seed): eval_stories(rows, random.Random(seed).sample(range(len(rows)), len(rows)))
        for seed in STORY_SHUFFLE_SEEDS
    }
    return {
        "neardup": near,
        "stories": {"file_order": file_order, "shuffled": shuffles},
        "config": DedupConfig().__dict__,
        "setup": {"datasets": str(datasets), "python": platform.python_version()},
    }


def summary(report: dict[str, Any]) -> dict[str, Any]:
    stories = report["stories"]
    shuffled_f1 = [s["bcubed"]["f1"] for s in stories["shuffled"].values()]
    return {
        "neardup_pairwise": report["neardup"]["pairwise"],
        "stories_bcubed": stories["file_order"]["bcubed"],
        "stories_pairwise": stories["file_order"]["pairwise"],
        "stories_bcubed_f1_shuffled": shuffled_f1,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", type=Path, help="folder holding article-extraction-benchmark/ ...")
    p.add_argument("--out", type=Path, default=Path("results/eval-dedup.json"))
    args = p.parse_args(argv)
    report = evaluate(args.datasets)
    report["summary"] = summary(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    near, stories = report["neardup"], report["stories"]["file_order"]
    print(
        f"near-duplicates: {near['articles']} variants of {near['pages']} pages, "
        f"pairwise P/R/F1 {near['pairwise']['precision']:.3f} / "
        f"{near['pairwise']['recall']:.3f} / {near['pairwise']['f1']:.3f}"
    )
    print(
        f"stories (ECB+ dev, file order): B-cubed P/R/F1 {stories['bcubed']['precision']:.3f} / "
        f"{stories['bcubed']['recall']:.3f} / {stories['bcubed']['f1']:.3f}, "
        f"{stories['stories']} stories for {stories['events']} events; full report in {args.out}"
    )
    print(json.dumps(report["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
