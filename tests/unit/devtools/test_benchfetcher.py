"""The fetcher benchmark, tiny: 50 feeds on loopback, one measurement of each path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.devtools import benchfetcher


def test_benchfetcher_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "bench.json"
    argv = ["--feeds", "50", "--rounds", "2", "--repeats", "1", "--concurrency", "8"]
    assert benchfetcher.main([*argv, "--changed", "0.2", "--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    headline = json.loads(last)
    for key in (
        "polls_per_s",
        "bare_polls_per_s",
        "ratio",
        "cpu_ms_per_poll",
        "bare_cpu_ms_per_poll",
        "feeds",
        "share_304",
        "http_layer_cpu_ms_per_poll",
        "http_layer_cpu_ratio",
        "feed_work_cpu_ms_per_poll",
    ):
        assert key in headline
    assert headline["polls_per_s"] > 0 and headline["bare_polls_per_s"] > 0
    assert headline["feeds"] == 50 and headline["errors"] == 0
    # Round 1 is all 200; in round 2, 10 of 50 feeds changed: 40 of 100 polls are 304.
    assert headline["share_304"] == pytest.approx(0.4)
    results = json.loads(out.read_text())
    assert results["headline"] == headline
    newswire_run = next(r for r in results["runs"] if r["path"] == "newswire")
    assert [r["entries"] for r in newswire_run["rounds"]] == [150, 10]
    # The user's own poller parsed the same feeds and found the same new entries.
    poller_run = next(r for r in results["runs"] if r["path"] == "poller")
    assert [r["entries"] for r in poller_run["rounds"]] == [150, 10]
    assert headline["vs_poller"] > 0 and headline["http_layer_ratio"] > 0
    assert set(results["targets"]) >= {"vs_poller_met", "http_layer_ratio_met", "polls_per_s_met"}
    # The HTTP layer alone got the same answers as the bare loop.
    layer_run = next(r for r in results["runs"] if r["path"] == "http_layer")
    bare_run = next(r for r in results["runs"] if r["path"] == "bare")
    assert [r["status"] for r in layer_run["rounds"]] == [r["status"] for r in bare_run["rounds"]]
    assert [r["status"] for r in layer_run["rounds"]] == [{"200": 50}, {"200": 10, "304": 40}]
