"""Dedup speed and index size on the extraction benchmark's article bodies.

    python -m services.devtools.benchdedup DATASET_DIR --out results/bench-dedup.json

DATASET_DIR is `article-extraction-benchmark/`; its gold bodies are repeated to
`--articles` texts, each copy lightly perturbed (a few words replaced at seeded
random places, and a copy number added) so that copies are near-duplicates, not
exact ones. Measured in one run, each the best of `--passes`, wall clock and CPU:

* shingling: `text.shingle_hashes` alone, against a pure-Python baseline (fold,
  split, join 5-word n-grams, hash each with blake2b) on the same texts;
* near-duplicate path: shingling + sketch + LSH lookup + verification + insert, into
  fresh in-memory stores (the target is >= 5,000 articles/s per worker);
* whole engine: `Deduper.process` (URL and hash checks, near-duplicates, stories);
* index bytes per article: key + value bytes of the band and sketch stores after the
  near-duplicate path, divided by the articles (the target is <= 256).

The last line of stdout is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from services.dedup.config import DedupConfig
from services.dedup.engine import Deduper, Item
from services.dedup.fingerprint import normalised_words
from services.dedup.lsh import NearDupIndex, index_bytes
from services.dedup.neardup import sketch
from services.dedup.text import SHINGLE_WORDS, shingle_hashes

SEED = 7
REPLACED_WORDS = 3
BASELINE_SAMPLE = 2000


def load_texts(root: Path) -> list[str]:
    truth: dict[str, dict[str, Any]] = json.loads(
        (root / "ground-truth.json").read_text(encoding="utf-8")
    )
    return [t["articleBody"] for _, t in sorted(truth.items()) if (t.get("articleBody") or "")]


def perturbed(texts: Sequence[str], count: int, seed: int = SEED) -> list[str]:
    """`count` texts cycling through `texts`, every copy after the first lightly changed."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(count):
        base = texts[i % len(texts)]
        copy = i // len(texts)
        if copy == 0:
            out.append(base)
            continue
        words = base.split()
        for _ in range(REPLACED_WORDS):
            words[rng.randrange(len(words))] = f"w{rng.randrange(10**6)}"
        out.append(f"{' '.join(words)} copy {copy}")
    return out


def python_shingles(text: str, n: int = SHINGLE_WORDS) -> set[int]:
    """The baseline: what shingling costs written plainly in Python."""
    words = normalised_words(text)
    grams = [" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))]
    return {
        int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams
    }


def _timed(run: Callable[[], None], passes: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of `passes` runs."""
    wall, cpu = [], []
    for _ in range(passes):
        w, c = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


def bench(texts: Sequence[str], passes: int = 3) -> dict[str, Any]:
    config = DedupConfig()
    sample = list(texts[:BASELINE_SAMPLE])

    def baseline() -> None:
        for t in sample:
            python_shingles(t)

    def ours_shingling() -> None:
        for t in sample:
            shingle_hashes(t)

    base_wall, base_cpu = _timed(baseline, passes)
    shingle_wall, shingle_cpu = _timed(ours_shingling, passes)

    state: dict[str, Any] = {}

    def neardup_path() -> None:
        bands: dict[str, bytes] = {}
        sketches: dict[str, bytes] = {}
        index = NearDupIndex(bands, sketches, config)
        matched = 0
        for i, t in enumerate(texts):
            found = sketch(t, config.bands, config.shingle_words)
            if found is None:
                continue
            key = f"a{i}"
            match = index.find(found, 0)
            matched += match is not None
            index.add(found, key, 0, stands_for=match.url_key if match else None)
        state.update(bands=bands, sketches=sketches, matched=matched)

    near_wall, near_cpu = _timed(neardup_path, passes)
    stored = index_bytes(state["bands"], state["sketches"])

    def engine() -> None:
        deduper = Deduper(config=config)
        verdicts: dict[str, int] = {}
        for i, t in enumerate(texts):
            v = deduper.process(Item(id=f"a{i}", text=t)).verdict
            verdicts[v] = verdicts.get(v, 0) + 1
        state["verdicts"] = verdicts

    engine_wall, engine_cpu = _timed(engine, 1)
    n = len(texts)
    return {
        "articles": n,
        "mean_words": round(sum(len(t.split()) for t in texts) / max(1, n), 1),
        "shingling": {
            "baseline_python_per_s": _rate(len(sample), base_wall),
            "ours_per_s": _rate(len(sample), shingle_wall),
            "speedup": round(base_wall / shingle_wall, 2) if shingle_wall else None,
            "baseline_us_per_article": round(base_cpu / len(sample) * 1e6, 1),
            "ours_us_per_article": round(shingle_cpu / len(sample) * 1e6, 1),
        },
        "neardup_path": {
            "articles_per_s": _rate(n, near_wall),
            "cpu_articles_per_s": _rate(n, near_cpu),
            "matched_as_near_duplicates": state["matched"],
            "index_bytes_per_article": round(stored / n, 1),
            "band_keys": len(state["bands"]),
        },
        "engine": {
            "articles_per_s": _rate(n, engine_wall),
            "cpu_articles_per_s": _rate(n, engine_cpu),
            "verdicts": state["verdicts"],
        },
        "config": config.__dict__,
        "setup": {"passes": passes, "python": platform.python_version()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", type=Path, help="the article-extraction-benchmark folder")
    p.add_argument("--out", type=Path, default=Path("results/bench-dedup.json"))
    p.add_argument("--articles", type=int, default=20000)
    p.add_argument("--passes", type=int, default=3)
    args = p.parse_args(argv)
    texts = perturbed(load_texts(args.dataset), args.articles)
    report = bench(texts, args.passes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    near, eng, sh = report["neardup_path"], report["engine"], report["shingling"]
    print(
        f"{report['articles']} articles: near-duplicate path {near['articles_per_s']}/s "
        f"(CPU {near['cpu_articles_per_s']}/s), {near['index_bytes_per_article']} index "
        f"bytes/article; engine {eng['articles_per_s']}/s; shingling {sh['speedup']}x the "
        f"pure-Python baseline; full report in {args.out}"
    )
    summary = {
        "articles": report["articles"],
        "neardup_articles_per_s": near["articles_per_s"],
        "neardup_cpu_articles_per_s": near["cpu_articles_per_s"],
        "index_bytes_per_article": near["index_bytes_per_article"],
        "engine_articles_per_s": eng["articles_per_s"],
        "shingling_speedup_vs_python": sh["speedup"],
        "baseline_python_shingling_per_s": sh["baseline_python_per_s"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
