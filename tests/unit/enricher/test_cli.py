"""`newswire enrich` and the enricher benchmark, run as the user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from services.common.settings import PROJECT_ROOT
from tests.conftest import validate_record

DATA = Path(__file__).parent / "data"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )


def test_enrich_jsonl_file() -> None:
    proc = run("-m", "services.cli", "enrich", str(DATA / "articles.jsonl"))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in records] == ["en1", "fr1", "min1"]
    for r in records:
        validate_record("newswire.enriched", r)
    en, fr, short = records
    entities = {e["text"]: e["label"] for e in en["entities"]}
    assert entities["Joseph Camilleri"] == "PERSON" and entities["Catania"] == "GPE"
    # The quote's offsets into the body, counted by hand: the 85-character first
    # sentence, a blank line (2) and the opening quotation mark put it at 88..123.
    quote = "We have never seen waves like these"
    body = json.loads((DATA / "articles.jsonl").read_text().splitlines()[0])["text"]
    assert body[88:123] == quote
    assert en["quotes"] == [{"text": quote, "speaker": "Joseph Camilleri", "start": 88, "end": 123}]
    assert {p["name"]: p["country_code"] for p in en["places"]}["Catania"] == "IT"
    assert en["keywords"] and en["language"] == "en"
    assert fr["language"] == "fr" and "entities" in fr["enrichment_skipped"]
    assert fr["keywords"] and fr["entities"] == []
    assert short["language"] is None and short["word_count"] == 1


def test_enrich_stdin_with_a_bad_line() -> None:
    lines = [
        json.dumps({"id": "s1", "title": "T", "text": "Talks resumed in Cairo on Monday."}),
        "not json",
    ]
    proc = run("-m", "services.cli", "enrich", "--strict", "-", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 1
    good, bad = (json.loads(line) for line in proc.stdout.splitlines())
    assert good["id"] == "s1" and any(e["text"] == "Cairo" for e in good["entities"])
    assert bad["source"] == "-:2" and "error" in bad


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
    proc = run("-m", "services.enricher.bench", str(dataset), "--out", str(out))
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
