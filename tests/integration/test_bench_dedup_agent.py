"""`make bench-dedup-agent` on a tiny dataset: real workers, and their verdicts checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.common.settings import Settings
from services.devtools import benchdedupagent


def test_bench_dedup_agent_on_a_tiny_dataset(
    tmp_path: Path,
    kafka_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aeb = tmp_path / "article-extraction-benchmark"
    aeb.mkdir()
    truth = {f"p{i}": {"articleBody": " ".join(f"p{i}w{j}" for j in range(80))} for i in range(3)}
    (aeb / "ground-truth.json").write_text(json.dumps(truth))
    ecb = tmp_path / "ecbplus-dev"
    ecb.mkdir()
    rows = [
        {"id": "1", "text": "Tara Reid entered Promises rehab in Malibu, her rep said."},
        {"id": "2", "text": "Tara Reid is in Promises rehab in Malibu, People reported."},
        {"id": "3", "text": "Apple sold many iPhones in China, the company said."},
    ]
    (ecb / "articles.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert kafka_settings.kafka_bootstrap
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP", kafka_settings.kafka_bootstrap)
    out = tmp_path / "r" / "bench.json"
    assert benchdedupagent.main([str(tmp_path), "--out", str(out), "--timeout", "180"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # 3 ECB+ articles, and each body with an exact and a near copy.
    assert last["articles"] == last["decided"] == 12
    assert last["verdicts_agree_with_engine_in_sequence_order"] is True
    assert last["verdicts"]["duplicate"] == 6
    assert last["agent_articles_per_s"] > 0 and last["ratio"] > 0
    assert json.loads(out.read_text()) == last
