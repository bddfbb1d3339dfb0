"""The enricher benchmark (`services/devtools/benchenricher.py`), run as the user runs it:
three gold bodies, every default enricher, the baseline, batches and subsets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.models import Article
from services.common.settings import PROJECT_ROOT, Settings
from services.devtools import benchenricher
from tests.conftest import seed_article


@pytest.fixture
def article() -> Article:
    return seed_article()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )


def test_bench_ends_with_one_json_line(tmp_path: Path) -> None:
    bodies = {
        "d1": "Officials in Cairo said on Monday that talks with Hamas would go on. "
        '"We are hopeful," Egyptian minister Sameh Shoukry told reporters.',
        "d2": "The city council of Lyon voted a new budget for schools and libraries.",
        "d3": "Der Stadtrat in Berlin hat den Haushalt für Schulen beschlossen.",
    }
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "ground-truth.json").write_text(
        json.dumps({k: {"articleBody": v, "url": f"http://x/{k}"} for k, v in bodies.items()})
    )
    out = tmp_path / "results" / "bench-enricher.json"
    proc = run("-m", "services.devtools.benchenricher", str(dataset), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    headline = json.loads(proc.stdout.strip().splitlines()[-1])
    assert headline["articles"] == 3 and headline["articles_per_s_per_core"] > 0
    assert set(headline["enricher_ms_per_article"]) == {
        "language",
        "stats",
        "entities",
        "places",
        "keywords",
        "quotes",
        "summary",
        "embedding",
    }
    assert headline["load_seconds"]["place_index"] > 0
    assert headline["load_seconds"]["embedding_model"] > 0
    full = json.loads(out.read_text())
    assert full["languages"] == {"en": 2, "de": 1}
    assert full["enrichment_errors"] == {} and full["enrichment_skipped"]["entities"] == 1
    # Before and after in the same run: the pre-issue-15 configuration, its figures, the
    # ratio, and every article enriched alike by both.
    assert headline["baseline"]["articles_per_s_per_core"] > 0
    assert set(headline["baseline"]["enricher_cpu_ms_per_article"]) == set(
        headline["enricher_cpu_ms_per_article"]
    )
    assert headline["speedup_per_core"] > 0 and headline["target_per_core"] == 20.0
    assert full["baseline"]["settings"] == {"ner_matmul": "blis", "keywords_engine": "yake"}
    assert full["settings"] == {"ner_matmul": "numpy", "keywords_engine": "newswire"}
    same = headline["same_results"]
    assert same["articles"] == 3
    assert same["entities"] == same["places"] == same["quotes"] == same["keywords"] == 3
    assert same["keyword_overlap_mean"] == same["keyword_overlap_min"] == 1.0
    assert same["keywords_hold"] is True
    assert same["embedding_max_abs_diff"] == 0.0
    # Micro-batches against one at a time, and what each enricher set costs.
    batches = headline["batches"]
    assert set(batches["ner_cpu_ms"]) == set(batches["embedding_cpu_ms"]) == {"1", "8", "16"}
    assert batches["ner_gain"]["1"] == batches["embedding_gain"]["1"] == 0.0
    assert full["batches"]["same_entities"] == {"1": 3, "8": 3, "16": 3}
    assert all(len(v) == 3 for v in full["batches"]["ner_cpu_ms_rounds"].values())
    assert full["batches"]["embedding_max_abs_diff"]["1"] == 0.0
    subsets = headline["subsets"]
    assert set(subsets) == {"without_embedding", "without_ner", "without_ner_and_embedding"}
    assert subsets["without_ner"]["enrichers"] == [
        "language",
        "stats",
        "keywords",
        "summary",
        "embedding",
    ]
    assert all(s["articles_per_s_per_core"] > 0 for s in subsets.values())


def test_bench_reports_the_embedding_cost(article: Article) -> None:
    result = benchenricher.bench([article], Settings(enrichers="language,embedding"))
    assert result["enrichers"] == ["language", "embedding"]
    assert result["enricher_ms_per_article"]["embedding"] > 0
    assert result["load_seconds"]["embedding_model"] is not None
    assert result["enrichment_errors"] == {}
    without = benchenricher.bench([article], Settings(enrichers="language"))
    assert "embedding" not in without["enricher_ms_per_article"]
    assert without["load_seconds"]["embedding_model"] is None
