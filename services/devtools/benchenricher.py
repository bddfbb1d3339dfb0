"""Enricher speed on real article bodies: articles/s per core and each enricher's cost.

    python -m services.devtools.benchenricher DATASET_DIR --out results/bench-enricher.json

DATASET_DIR holds `ground-truth.json` (`{id: {"articleBody", "url"}}`, the layout of
the article extraction benchmark): the hand-checked bodies are the input, so the
figures are the enricher's alone, not the cleaner's. Models and the place index
load first (their load times are reported apart); then every article goes through
`pipeline.enrich` with the configured enrichers, one after another in this process.

Per core: articles divided by the CPU seconds this process spent (`process_time`),
which a busy shared machine disturbs less than wall time (also reported). An
enricher's cost is its mean wall milliseconds per article; entity recognition is
counted under `entities`, the first enricher that needs it. The full result goes
to --out; the last line of stdout is one JSON object with the headline figures.

Before and after in one run: unless --no-baseline, every article also goes through the
configuration this stage had before issue 15 (`BASELINE`: NER on thinc's BLIS, keywords
from the yake package), interleaved article by article with the configured one (which
goes first alternates), so both see the same machine; `speedup_per_core` is their ratio
and `same_results` counts the articles whose entities, places, quotes and keywords agree,
with the keywords' mean and lowest overlap (shared share of the top 10) and the largest
difference of an embedding component.

Then, unless --no-batches, micro-batches (`benchbatch`): NER through `nlp.pipe` and the
embedding as one ONNX call per batch, at each of --batch-sizes, CPU ms per article; and,
unless --no-subsets, the enricher sets of `SUBSETS` (the defaults without NER, without
the embedding, without both), each its own pass: what a per-core target costs in enrichers.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.models import Article, Enriched
from services.common.settings import Settings, load_settings
from services.enricher import benchbatch, embedding, keywords, ner, places, registry
from services.enricher.pipeline import enrich

# Issue 15: three times the 6.9 articles/s per core measured before it.
TARGET_PER_CORE = 20.0
# What this stage ran before issue 15's changes, for the before/after comparison.
BASELINE: dict[str, Any] = {"ner_matmul": "blis", "keywords_engine": "yake"}
# Keywords may differ from before only this little: a mean overlap of the top 10 of at
# least 0.9 (one keyword in ten), and no article under 0.7. Keywords feed search facets
# and dedup's story features, where one term in ten changes little.
KEYWORD_MEAN_OVERLAP_MIN = 0.9
KEYWORD_ARTICLE_OVERLAP_MIN = 0.7
BATCH_SIZES = (1, 8, 16)
# The entity recogniser serves entities, places and quotes: dropping NER drops all three.
WITHOUT_NER = ("entities", "places", "quotes")
SUBSETS: dict[str, tuple[str, ...]] = {
    "without_embedding": ("embedding",),
    "without_ner": WITHOUT_NER,
    "without_ner_and_embedding": (*WITHOUT_NER, "embedding"),
}


def load_articles(dataset: Path, limit: int | None = None) -> list[Article]:
    truth: dict[str, dict[str, str]] = json.loads((dataset / "ground-truth.json").read_text())
    out = []
    for key in sorted(truth)[:limit]:
        body = truth[key].get("articleBody") or ""
        out.append(
            Article(
                id=key,
                url=truth[key].get("url") or "",
                text=body,
                paragraphs=[p.strip() for p in body.split("\n") if p.strip()],
            )
        )
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class Run:
    """One configuration's figures, accumulated article by article."""

    settings: Settings
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)
    per_article_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    outputs: list[Enriched] = field(default_factory=list)

    def enrich(self, article: Article, *, cold_caches: bool = False) -> Enriched:
        if cold_caches:
            keywords.clear_caches()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        out = enrich(article, self.settings.enricher, self.timings, self.cpu_timings)
        wall = time.perf_counter() - wall0
        self.cpu_s += time.process_time() - cpu0
        self.wall_s += wall
        self.per_article_ms.append(wall * 1000)
        self.outputs.append(out)
        return out

    def per_core(self) -> float:
        n = len(self.outputs)
        return n / self.cpu_s if self.cpu_s > 0 else 0.0

    def enricher_ms(self, cpu: bool = False) -> dict[str, float]:
        n = len(self.outputs)
        source = self.cpu_timings if cpu else self.timings
        return {
            name: round(source.get(name, 0.0) * 1000 / n, 2) if n else 0.0
            for name in registry.enabled(self.settings.enricher)
        }


def _warm_up(settings: Settings) -> float:
    started = time.perf_counter()
    registry.warm_up(settings.enricher)
    return time.perf_counter() - started


def same_results(before: list[Enriched], after: list[Enriched]) -> dict[str, Any]:
    """How many articles each configuration enriched alike, field by field."""

    def agree(name: str) -> int:
        return sum(getattr(a, name) == getattr(b, name) for a, b in zip(before, after, strict=True))

    diffs = [
        max((abs(x - y) for x, y in zip(a.embedding, b.embedding, strict=True)), default=0.0)
        for a, b in zip(before, after, strict=True)
        if a.embedding and b.embedding
    ]
    overlaps = [
        keyword_overlap([k.text for k in a.keywords], [k.text for k in b.keywords])
        for a, b in zip(before, after, strict=True)
    ]
    mean_overlap = round(statistics.mean(overlaps), 4) if overlaps else 1.0
    min_overlap = round(min(overlaps, default=1.0), 4)
    return {
        "articles": len(after),
        **{name: agree(name) for name in ("entities", "places", "quotes", "keywords")},
        "keyword_overlap_mean": mean_overlap,
        "keyword_overlap_min": min_overlap,
        "keywords_hold": mean_overlap >= KEYWORD_MEAN_OVERLAP_MIN
        and min_overlap >= KEYWORD_ARTICLE_OVERLAP_MIN,
        "embedding_max_abs_diff": max(diffs, default=0.0),
    }


def keyword_overlap(before: list[str], after: list[str], top: int = 10) -> float:
    """Share of the first `top` keywords before that are among the first `top` after
    (case-folded); 1.0 when neither has any."""
    a = {k.casefold() for k in before[:top]}
    b = {k.casefold() for k in after[:top]}
    return len(a & b) / len(a) if a else (1.0 if not b else 0.0)


def bench(
    articles: list[Article], settings: Settings, baseline: Settings | None = None
) -> dict[str, Any]:
    names = registry.enabled(settings.enricher)
    warm_up_s = _warm_up(settings)
    baseline_warm_up_s = _warm_up(baseline) if baseline is not None else None
    index_s = (
        places.index(settings.enricher.place_min_population).load_seconds
        if "places" in names
        else None
    )
    embed_s = (
        embedding.load_seconds().get(settings.enricher.embedding_model)
        if "embedding" in names
        else None
    )

    now = Run(settings)
    before = Run(baseline) if baseline is not None else None
    languages: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    entities = quotes = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i, article in enumerate(articles):
        # Which goes first alternates: neither always finds the other's caches warm.
        # YAKE's caches would make the second run of a text the cheaper one: both start cold.
        twice = before is not None
        if before is not None and i % 2:
            before.enrich(article, cold_caches=True)
        out = now.enrich(article, cold_caches=twice)
        if before is not None and not i % 2:
            before.enrich(article, cold_caches=True)
        languages[out.language or "unknown"] += 1
        errors.update(out.enrichment_errors.keys())
        skipped.update(out.enrichment_skipped.keys())
        entities += len(out.entities)
        quotes += len(out.quotes)
    total_cpu_s, total_wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    n = len(articles)
    per_core = now.per_core()
    result: dict[str, Any] = {
        "articles": n,
        "enrichers": names,
        "chars_mean": round(statistics.mean(len(a.text) for a in articles), 1) if n else 0,
        "wall_seconds": round(now.wall_s, 3),
        "cpu_seconds": round(now.cpu_s, 3),
        "articles_per_s": round(n / now.wall_s, 2) if now.wall_s > 0 else 0.0,
        "articles_per_s_per_core": round(per_core, 2),
        "target_per_core": TARGET_PER_CORE,
        "meets_target": per_core >= TARGET_PER_CORE,
        "ms_per_article": {
            "mean": round(statistics.mean(now.per_article_ms), 2) if n else 0.0,
            "p50": round(_percentile(now.per_article_ms, 0.5), 2),
            "p95": round(_percentile(now.per_article_ms, 0.95), 2),
            "max": round(max(now.per_article_ms, default=0.0), 2),
        },
        "enricher_ms_per_article": now.enricher_ms(),
        "enricher_cpu_ms_per_article": now.enricher_ms(cpu=True),
        "settings": {k: settings.value(k) for k in BASELINE},
        "load_seconds": {
            "warm_up_total": round(warm_up_s, 3),
            "ner_pipelines": {k: round(v, 3) for k, v in ner.load_seconds().items()},
            "place_index": round(index_s, 3) if index_s is not None else None,
            "embedding_model": round(embed_s, 3) if embed_s is not None else None,
        },
        "languages": dict(languages.most_common()),
        "entities_per_article": round(entities / n, 2) if n else 0.0,
        "quotes_per_article": round(quotes / n, 2) if n else 0.0,
        "enrichment_errors": dict(errors),
        "enrichment_skipped": dict(skipped),
        "run_wall_seconds": round(total_wall_s, 3),
        "run_cpu_seconds": round(total_cpu_s, 3),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
    }
    if before is not None and baseline is not None:
        result["baseline"] = {
            "settings": {k: baseline.value(k) for k in BASELINE},
            "warm_up_seconds": round(baseline_warm_up_s or 0.0, 3),
            "articles_per_s_per_core": round(before.per_core(), 2),
            "enricher_ms_per_article": before.enricher_ms(),
            "enricher_cpu_ms_per_article": before.enricher_ms(cpu=True),
        }
        result["speedup_per_core"] = (
            round(per_core / before.per_core(), 3) if before.per_core() > 0 else None
        )
        result["same_results"] = same_results(before.outputs, now.outputs)
    return result


def subsets(articles: list[Article], settings: Settings) -> dict[str, Any]:
    """Articles per core and CPU ms per article with each of `SUBSETS`' enrichers left out."""
    names = registry.enabled(settings.enricher)
    out: dict[str, Any] = {}
    for label, dropped in SUBSETS.items():
        kept = [n for n in names if n not in dropped]
        run = Run(settings.replace(enrichers=",".join(kept)))
        for article in articles:
            run.enrich(article)
        out[label] = {
            "enrichers": kept,
            "articles_per_s_per_core": round(run.per_core(), 2),
            "cpu_ms_per_article": round(run.cpu_s * 1000 / len(articles), 2) if articles else 0,
            "meets_target": run.per_core() >= TARGET_PER_CORE,
        }
    return out


def batches(
    articles: list[Article], settings: Settings, sizes: tuple[int, ...], rounds: int = 3
) -> dict[str, Any]:
    """`benchbatch.measure` on these articles, on the texts the enrichers would give it."""
    model = settings.enricher.ner_models["en"]
    embedder = embedding.embedder(
        settings.enricher.embedding_model,
        settings.enricher.embedding_model_dir,
        settings.enricher.embedding_max_tokens,
    )
    return benchbatch.measure(
        [a.text[: settings.enricher.ner_max_chars] for a in articles],
        [
            embedding.article_text(a.title, a.text, settings.enricher.embedding_max_chars)
            for a in articles
        ],
        model=model,
        matmul=settings.enricher.ner_matmul,
        embedder=embedder,
        sizes=sizes,
        rounds=rounds,
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path, help="folder with ground-truth.json")
    p.add_argument("--out", type=Path, help="write the full result here (JSON)")
    p.add_argument("--limit", type=int, default=None, help="only the first N articles")
    p.add_argument(
        "--enrichers",
        help="comma-separated enrichers instead of NEWSWIRE_ENRICHERS (e.g. without embedding)",
    )
    p.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the configuration before issue 15 (half the run time, no before/after)",
    )
    p.add_argument("--no-batches", action="store_true", help="skip the micro-batch measurement")
    p.add_argument(
        "--batch-sizes",
        default=",".join(map(str, BATCH_SIZES)),
        help="micro-batch sizes to measure (comma-separated; 1 is the reference)",
    )
    p.add_argument(
        "--batch-rounds", type=int, default=3, help="passes per batch size (the median counts)"
    )
    p.add_argument("--no-subsets", action="store_true", help="skip the enricher subsets")
    args = p.parse_args(argv)
    articles = load_articles(args.dataset, args.limit)
    if not articles:
        sys.stderr.write(f"no articles in {args.dataset}\n")
        return 1
    settings = load_settings()
    if args.enrichers is not None:
        settings = settings.replace(enrichers=args.enrichers)
    baseline = None if args.no_baseline else settings.replace(**BASELINE)
    result = {"dataset": str(args.dataset), **bench(articles, settings, baseline)}
    if not args.no_batches:
        sizes = tuple(sorted({1, *(int(x) for x in args.batch_sizes.split(",") if x.strip())}))
        result["batches"] = batches(articles, settings, sizes, max(1, args.batch_rounds))
    if not args.no_subsets:
        result["subsets"] = subsets(articles, settings)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    # A report on stdout is this command's output (not logging), ending with the JSON line.
    out = sys.stdout
    base = result.get("baseline")
    out.write(f"{'enricher':12} {'CPU ms/article':>15} {'before':>9} {'ratio':>6}\n")
    for name, ms in result["enricher_cpu_ms_per_article"].items():
        line = f"{name:12} {ms:15.2f}"
        if base is not None:
            was = base["enricher_cpu_ms_per_article"][name]
            line += f" {was:9.2f} {was / ms if ms else 0.0:6.2f}"
        out.write(line + "\n")
    out.write(
        f"{result['articles']} articles: {result['articles_per_s_per_core']} articles/s per core "
        f"(target {TARGET_PER_CORE}), {result['articles_per_s']} articles/s wall\n"
    )
    if base is not None:
        same = result["same_results"]
        out.write(
            f"before (ner_matmul={base['settings']['ner_matmul']}): "
            f"{base['articles_per_s_per_core']} articles/s per core; "
            f"speed-up {result['speedup_per_core']}x; same entities {same['entities']}, "
            f"places {same['places']}, quotes {same['quotes']}, keywords {same['keywords']} "
            f"of {same['articles']} (top-10 overlap mean {same['keyword_overlap_mean']}, "
            f"lowest {same['keyword_overlap_min']}); "
            f"embedding max diff {same['embedding_max_abs_diff']}\n"
        )
    if "batches" in result:
        b = result["batches"]
        for what in ("ner", "embedding"):
            figures = ", ".join(
                f"{size}: {ms} ms ({b[what + '_gain'][size]:+.1%})"
                for size, ms in b[what + "_cpu_ms"].items()
            )
            out.write(f"micro-batches, {what} CPU ms/article by batch size: {figures}\n")
    for label, sub in result.get("subsets", {}).items():
        out.write(
            f"{label}: {sub['articles_per_s_per_core']} articles/s per core "
            f"({sub['cpu_ms_per_article']} CPU ms/article)\n"
        )
    headline = {
        k: result[k]
        for k in (
            "articles",
            "articles_per_s_per_core",
            "articles_per_s",
            "meets_target",
            "enricher_ms_per_article",
            "enricher_cpu_ms_per_article",
            "load_seconds",
        )
    }
    for k in ("target_per_core", "speedup_per_core", "same_results", "subsets"):
        if k in result:
            headline[k] = result[k]
    if "batches" in result:
        headline["batches"] = {
            k: result["batches"][k]
            for k in ("ner_cpu_ms", "embedding_cpu_ms", "ner_gain", "embedding_gain")
        }
    if base is not None:
        headline["baseline"] = {
            k: base[k]
            for k in (
                "articles_per_s_per_core",
                "enricher_ms_per_article",
                "enricher_cpu_ms_per_article",
            )
        }
    out.write(json.dumps(headline) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
