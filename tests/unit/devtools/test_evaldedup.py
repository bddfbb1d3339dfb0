from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from services.devtools import benchdedup, evaldedup
from services.devtools.evaldedup import bcubed, groups, half, pairwise


def test_bcubed_and_pairwise() -> None:
    gold = ["a", "a", "b", "b"]
    assert bcubed(gold, [1, 1, 2, 2]).f1 == 1.0
    assert pairwise(gold, [1, 1, 2, 2]).f1 == 1.0
    one = bcubed(gold, [1, 1, 1, 1])
    assert (one.precision, one.recall) == (0.5, 1.0)
    apart = pairwise(gold, [1, 2, 3, 4])
    assert (apart.precision, apart.recall) == (1.0, 0.0)
    assert pairwise(gold, [1, 1, 1, 2]).precision == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        bcubed(gold, [1])


def test_groups_follow_duplicate_links() -> None:
    roots = groups([("a", None), ("b", "a"), ("c", "b"), ("d", None)])
    assert roots == {"a": "a", "b": "a", "c": "a", "d": "d"}
    assert half("one two three four") == "one two"


def _benchmark(root: Path) -> None:
    (root / "html").mkdir(parents=True)
    truth = {}
    for i in range(3):
        body = " ".join(f"page{i}word{j}" for j in range(120))
        html = (
            f"<html><body><nav>Home News Sport</nav><article><p>{body}</p></article></body></html>"
        )
        (root / "html" / f"p{i}.html.gz").write_bytes(gzip.compress(html.encode()))
        truth[f"p{i}"] = {"articleBody": body, "url": f"http://e.example/{i}"}
    (root / "ground-truth.json").write_text(json.dumps(truth))


def test_eval_dedup_on_a_tiny_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _benchmark(tmp_path / "article-extraction-benchmark")
    ecb = tmp_path / "ecbplus-dev"
    ecb.mkdir()
    rows = [
        {"id": "1", "cluster_id": "x", "title": None, "text": "Tara Reid entered Promises rehab."},
        {"id": "2", "cluster_id": "x", "title": None, "text": "Tara Reid is in Promises rehab."},
        {"id": "3", "cluster_id": "y", "title": None, "text": "Apple sold many iPhones in China."},
    ]
    (ecb / "articles.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "r" / "eval.json"
    assert evaldedup.main([str(tmp_path), "--out", str(out)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["neardup_pairwise"]["f1"] == 1.0
    assert set(last) >= {"stories_bcubed", "stories_pairwise"}
    assert json.loads(out.read_text())["neardup"]["pages"] == 3


def test_bench_dedup_on_a_tiny_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _benchmark(tmp_path)
    out = tmp_path / "bench.json"
    args = [str(tmp_path), "--out", str(out), "--articles", "30", "--passes", "1"]
    assert benchdedup.main(args) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["articles"] == 30 and last["neardup_articles_per_s"] > 0
    assert 0 < last["index_bytes_per_article"] < 256
    assert 0 < last["index_bytes_per_distinct_article"] < 256
    # The headline is CPU time, said so, with the wall-clock figure next to it.
    assert last["throughput_basis"] == "cpu"
    assert last["neardup_articles_per_s"] == last["neardup_articles_per_cpu_s"]
    assert last["neardup_articles_per_wall_s"] > 0
    assert last["target_articles_per_s"] == 5000 and last["target_index_bytes_per_article"] == 256
    # The verdicts from the figures and the targets written here, not from the bench's
    # own booleans: a bench that calls a missed target met fails.
    speed_met = last["neardup_articles_per_cpu_s"] >= 5000
    index_met = (
        last["index_bytes_per_article"] <= 256 and last["index_bytes_per_distinct_article"] <= 256
    )
    assert last["speed_target_met"] is speed_met
    assert last["index_target_met"] is index_met
    assert last["targets_met"] is (speed_met and index_met)
    report = json.loads(out.read_text())
    assert report["neardup_path"]["distinct_articles"] == 3
    assert set(report["targets"]) == {
        "neardup_articles_per_cpu_s",
        "index_bytes_per_article",
        "index_bytes_per_distinct_article",
    }
    targets = report["targets"]
    assert targets["neardup_articles_per_cpu_s"]["value"] == last["neardup_articles_per_cpu_s"]
    assert targets["neardup_articles_per_cpu_s"]["met"] is speed_met
    assert targets["index_bytes_per_article"]["value"] == last["index_bytes_per_article"]
    assert targets["index_bytes_per_article"]["met"] is (last["index_bytes_per_article"] <= 256)
    assert targets["index_bytes_per_distinct_article"]["met"] is (
        last["index_bytes_per_distinct_article"] <= 256
    )
    assert report["targets_met"] is (speed_met and index_met)
    texts = benchdedup.perturbed(["a b c d e f"], 3)
    assert texts[0] == "a b c d e f" and texts[1] != texts[2]
