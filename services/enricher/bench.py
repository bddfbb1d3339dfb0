"""Enricher speed on real article bodies: articles/s per core and each enricher's cost.

    python -m services.enricher.bench DATASET_DIR --out results/bench-enricher.json

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
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from services.common.models import Article
from services.common.settings import Settings, load_settings
from services.enricher import embedding, ner, places, registry
from services.enricher.pipeline import enrich

TARGET_PER_CORE = 5.0


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


def bench(articles: list[Article], settings: Settings) -> dict[str, Any]:
    names = registry.enabled(settings)
    started = time.perf_counter()
    registry.warm_up(settings)
    warm_up_s = time.perf_counter() - started
    index_s = (
        places.index(settings.place_min_population).load_seconds if "places" in names else None
    )
    embed_s = (
        embedding.load_seconds().get(settings.embedding_model) if "embedding" in names else None
    )

    timings: dict[str, float] = {}
    per_article_ms: list[float] = []
    languages: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    entities = quotes = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for article in articles:
        t0 = time.perf_counter()
        out = enrich(article, settings, timings)
        per_article_ms.append((time.perf_counter() - t0) * 1000)
        languages[out.language or "unknown"] += 1
        errors.update(out.enrichment_errors.keys())
        skipped.update(out.enrichment_skipped.keys())
        entities += len(out.entities)
        quotes += len(out.quotes)
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    n = len(articles)
    per_core = n / cpu_s if cpu_s > 0 else 0.0
    return {
        "articles": n,
        "enrichers": names,
        "chars_mean": round(statistics.mean(len(a.text) for a in articles), 1) if n else 0,
        "wall_seconds": round(wall_s, 3),
        "cpu_seconds": round(cpu_s, 3),
        "articles_per_s": round(n / wall_s, 2) if wall_s > 0 else 0.0,
        "articles_per_s_per_core": round(per_core, 2),
        "target_per_core": TARGET_PER_CORE,
        "meets_target": per_core >= TARGET_PER_CORE,
        "ms_per_article": {
            "mean": round(statistics.mean(per_article_ms), 2) if n else 0.0,
            "p50": round(_percentile(per_article_ms, 0.5), 2),
            "p95": round(_percentile(per_article_ms, 0.95), 2),
            "max": round(max(per_article_ms, default=0.0), 2),
        },
        "enricher_ms_per_article": {
            name: round(timings.get(name, 0.0) * 1000 / n, 2) if n else 0.0 for name in names
        },
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
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dataset", type=Path, help="folder with ground-truth.json")
    p.add_argument("--out", type=Path, help="write the full result here (JSON)")
    p.add_argument("--limit", type=int, default=None, help="only the first N articles")
    p.add_argument(
        "--enrichers",
        help="comma-separated enrichers instead of NEWSWIRE_ENRICHERS (e.g. without embedding)",
    )
    args = p.parse_args(argv)
    articles = load_articles(args.dataset, args.limit)
    if not articles:
        sys.stderr.write(f"no articles in {args.dataset}\n")
        return 1
    settings = load_settings()
    if args.enrichers is not None:
        settings = settings.model_copy(update={"enrichers": args.enrichers})
    result = {"dataset": str(args.dataset), **bench(articles, settings)}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    # A report on stdout is this command's output (not logging), ending with the JSON line.
    out = sys.stdout
    out.write(f"{'enricher':12} ms/article\n")
    for name, ms in result["enricher_ms_per_article"].items():
        out.write(f"{name:12} {ms:9.2f}\n")
    out.write(
        f"{result['articles']} articles: {result['articles_per_s_per_core']} articles/s per core "
        f"(target {TARGET_PER_CORE}), {result['articles_per_s']} articles/s wall\n"
    )
    headline = {
        k: result[k]
        for k in (
            "articles",
            "articles_per_s_per_core",
            "articles_per_s",
            "meets_target",
            "enricher_ms_per_article",
            "load_seconds",
        )
    }
    out.write(json.dumps(headline) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
