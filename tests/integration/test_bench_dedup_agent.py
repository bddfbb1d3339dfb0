"""`make bench-dedup-agent` on a tiny dataset: real workers, and their verdicts checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.common.settings import Settings
from services.devtools import benchdedupagent


def tiny_datasets(root: Path) -> Path:
    aeb = root / "article-extraction-benchmark"
    aeb.mkdir(parents=True)
    truth = {f"p{i}": {"articleBody": " ".join(f"p{i}w{j}" for j in range(80))} for i in range(3)}
    (aeb / "ground-truth.json").write_text(json.dumps(truth))
    ecb = root / "ecbplus-dev"
    ecb.mkdir()
    rows = [
        {"id": "1", "text": "Tara Reid entered Promises rehab in Malibu, her rep said."},
        {"id": "2", "text": "Tara Reid is in Promises rehab in Malibu, People reported."},
        {"id": "3", "text": "Apple sold many iPhones in China, the company said."},
    ]
    (ecb / "articles.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def run_bench(
    datasets: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    assert benchdedupagent.main([str(datasets), "--out", str(out), "--timeout", "240", *extra]) == 0
    last: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert json.loads(out.read_text()) == last
    return last


def check_configuration(conf: dict[str, Any], workers: int, sequences: int) -> None:
    assert (conf["workers"], conf["sequences"]) == (workers, sequences)
    # 3 ECB+ articles, and each body with an exact and a near copy.
    assert conf["articles"] == conf["decided"] == 12
    assert conf["verdicts_match"] is True
    assert conf["mismatches"] == conf["misplaced"] == 0
    # Each copy is on its original's outlet, so it is found under any scope.
    assert conf["verdicts"]["duplicate"] == 6
    assert conf["agent_articles_per_s"] > 0
    assert sum(conf["per_sequence"].values()) == 12
    assert [r["verdicts_match"] for r in conf["rounds"]] == [True]
    assert conf["median_articles_per_s"] == conf["agent_articles_per_s"]
    for mix in benchdedupagent.MIXES:
        m = conf["mixes"][mix]
        assert m["decided"] == m["articles"] and m["worker_cpu_ms_per_article"] > 0
        assert set(m["worker_cpu_ms_per_article_each"]) == set(conf["held"])
        assert m["load_average"] is not None and m["machine_busy_cores"] is not None


def test_bench_dedup_agent_on_an_external_broker_runs_one_configuration(
    tmp_path: Path,
    kafka_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert kafka_settings.kafka.bootstrap
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP", kafka_settings.kafka.bootstrap)
    last = run_bench(tiny_datasets(tmp_path / "d"), tmp_path / "r" / "bench.json", capsys)
    # The keys runs before this one had, with the one configuration's figures.
    assert last["articles"] == last["decided"] == 12
    assert last["verdicts_agree_with_engine_in_sequence_order"] is True
    assert last["same_as_cluster"] is True
    assert last["verdicts"]["duplicate"] == 6
    assert last["agent_articles_per_s"] > 0 and last["ratio"] > 0
    # The cluster's topics fix the sequence count: the split configuration is not run,
    # and the output says so.
    assert last["external_broker"] is True
    assert last["not_run"] == ["2seq-2w"]
    assert list(last["configurations"]) == ["1seq-1w"]
    assert last["sequences_speedup"] is None
    conf = last["configurations"]["1seq-1w"]
    check_configuration(conf, workers=1, sequences=1)
    assert conf["mixes"]["new_heavy"]["broker_cpu_ms_per_article"] is None
    assert conf["held"] == {"dedup-0": [0]}


def test_bench_dedup_agent_one_and_two_sequences_on_fresh_brokers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("NEWSWIRE_KAFKA_BOOTSTRAP", raising=False)
    last = run_bench(tiny_datasets(tmp_path / "d"), tmp_path / "r" / "bench.json", capsys)
    assert last["external_broker"] is False and last["not_run"] == []
    assert list(last["configurations"]) == ["1seq-1w", "2seq-2w"]
    assert last["verdicts_match"] is True and last["same_as_cluster"] is True
    one, two = last["configurations"]["1seq-1w"], last["configurations"]["2seq-2w"]
    check_configuration(one, workers=1, sequences=1)
    check_configuration(two, workers=2, sequences=2)
    assert one["held"] == {"dedup-0": [0]} and one["per_sequence"] == {"0": 12}
    # Each of the two workers decided one sequence, and both sequences had articles.
    assert two["each_worker_one_sequence"] is True
    assert sorted(two["held"].values()) == [[0], [1]]
    assert two["scope"] == "site" and min(two["per_sequence"].values()) > 0
    for conf in (one, two):
        assert conf["mixes"]["new_heavy"]["broker_cpu_ms_per_article"] > 0
    assert last["sequences_speedup"] > 0
    assert set(last["sequences_speedup_by_mix"]) == set(benchdedupagent.MIXES)
    assert last["sequences_speedup_rounds"] == [last["sequences_speedup"]]
    # The same input, and every copy on its original's outlet: the same verdicts (the
    # two ECB+ articles of one event may be grouped apart: what splitting costs).
    assert last["split_cost"]["verdicts_differing"] == 0
