"""make bench's arithmetic and its report: a small results file through the real
derivation (overhead, capacity, headline) and the renderer (markdown and PNG plots)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from services.devtools import benchbare, benchpipeline, benchsite, perfreport, perfstats
from services.devtools.corpus import Doc

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def small_report(tmp_path: Path) -> dict[str, Any]:
    """What `benchpipeline.run` measures, for a tiny run (figures made up, shape real)."""
    stages = {"fetcher": 0.004, "cleaner": 0.02, "enricher": 0.14, "dedup": 0.01, "broker": 0.006}
    return {
        "date": "2026-12-01T10:00:00+00:00",
        "commit": "abc1234",
        "command": "python -m services.devtools.benchpipeline --pages 6",
        "machine": {
            "cpu_model": "Test CPU",
            "cores": 2,
            "memory_gb": 24.0,
            "os": "Linux",
            "python": "3.11.2",
            "kafka": "4.1.1",
            "load_average_start": [1.0, 1.0, 1.0],
        },
        "config": {
            "distinct_pages": 6,
            "max_phase_pages": 3,
            "fixed_phase_pages": 3,
            "copies": 3,
            "hosts": 4,
            "feeds": 8,
            "seconds": 10,
            "load_share": 0.5,
            "service_env": {"NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0.1"},
        },
        "quiet": {
            "seconds": 5.0,
            "idle_cores": dict.fromkeys(stages, 0.01),
            "fetcher_cpu_s_per_poll": 0.002,
        },
        "max_throughput": {
            "finished": True,
            "articles": 9,
            "articles_per_s": 6.5,
            "articles_per_s_whole": 5.0,
            "cpu_s_per_article": stages,
            "verdicts": {"new": 3, "duplicate": 6},
            "dead_lettered": 0,
            "series": [[0.0, 2.0], [5.0, 6.4], [10.0, 6.6]],
        },
        "fixed_load": {
            "finished": True,
            "offered_per_s": 3.25,
            "latency_s": {
                "fetch_to_story": perfstats.latency_summary([0.5, 0.7, 0.9, 1.4]),
                "entry_to_story": perfstats.latency_summary([0.8, 1.0]),
            },
            "cpu_s_per_article": stages,
            "throughput_series": [[0.0, 3.0], [5.0, 3.4]],
            "latency_series": [[1.0, 0.5], [2.0, 0.7], [3.0, 0.9], [4.0, 1.4]],
        },
        "peak_rss_mb": {"fetcher": 120.0, "cleaner": 250.0, "enricher": 600.0, "dedup": 300.0},
        "rss_series": {"enricher": [[0.0, 500.0], [1.0, 600.0]], "dedup": []},
        "scaling": {
            service: {
                "runs": {
                    "1": {"articles_per_s": one, "cpu_s_per_article": 0.1, "worker_cores": 0.9},
                    "2": {"articles_per_s": two, "cpu_s_per_article": 0.12, "worker_cores": 1.5},
                },
                **perfstats.scaling_verdict(
                    {"articles_per_s": one, "cpu_s_per_article": 0.1, "worker_cores": 0.9},
                    {
                        "articles_per_s": two,
                        "cpu_s_per_article": 0.12,
                        "worker_cores": 1.5,
                        "others_cores": 0.5,
                        "broker_cores": 0.1,
                        "bench_cores": 0.05,
                    },
                ),
            }
            for service, one, two in (("enricher", 7.0, 10.5), ("cleaner", 60.0, 110.0))
        },
        "bare": {
            "pages": 3,
            "feeds": 8,
            "cpu_s_per_article": {
                "fetcher": 0.002,
                "cleaner": 0.018,
                "enricher": 0.1,
                "dedup": 0.001,
            },
            "part_cpu_ms_per_article": {"trafilatura": 18.0, "spacy_ner": 60.0},
        },
    }


def finished(tmp_path: Path) -> dict[str, Any]:
    report = small_report(tmp_path)
    args = argparse.Namespace(
        fetcher_results=tmp_path / "absent.json", peak_factor=3.0, out=tmp_path / "bench.json"
    )
    benchpipeline.finish(report, args)
    return report


def test_finish_derives_overhead_capacity_and_headline(tmp_path: Path) -> None:
    report = finished(tmp_path)
    over = report["overhead"]
    assert over["ratio"] == pytest.approx((0.004 + 0.02 + 0.14 + 0.01) / 0.121, abs=1e-3)
    assert over["meets_target"] is False
    cap = report["capacity"]
    assert cap["cpu_s_per_poll"] == 0.002  # the quiet phase's, bench-fetcher's being absent
    assert cap["cpu_s_per_poll_source"].startswith("this run's quiet phase")
    assert cap["stages"]["enricher"]["replicas"] >= cap["stages"]["cleaner"]["replicas"]
    headline = report["headline"]
    for key in ("articles_per_s", "p50_latency_s", "p99_latency_s", "overhead_ratio"):
        assert headline[key] is not None, key
    assert set(headline["cpu_s_per_article"]) >= set(perfstats.STAGES)
    assert set(headline["peak_rss_mb"]) >= set(perfstats.STAGES)
    json.dumps(headline)


def test_renderer_writes_page_and_plots(tmp_path: Path) -> None:
    report = finished(tmp_path)
    doc = tmp_path / "docs" / "performance.md"
    plots = perfreport.render(report, doc)
    assert set(plots) == set(perfreport.PLOTS)
    for path in plots.values():
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, path
        assert path.parent == tmp_path / "docs" / "performance"
    text = doc.read_text()
    for name in perfreport.PLOTS:
        assert f"(performance/{name}.png)" in text
    for stage in perfstats.STAGES:
        assert f"| {stage} |" in text
    assert "## Capacity on paper" in text
    assert "## Scaling on 2 cores" in text
    assert "6.50 articles/s" in text


def test_renderer_from_the_command_line(tmp_path: Path) -> None:
    results = tmp_path / "bench.json"
    results.write_text(json.dumps(finished(tmp_path)))
    doc = tmp_path / "out" / "performance.md"
    assert perfreport.main([str(results), "--doc", str(doc)]) == 0
    assert (tmp_path / "out" / "performance" / "scaling.png").exists()


def test_renderer_without_scaling(tmp_path: Path) -> None:
    report = finished(tmp_path)
    del report["scaling"]
    doc = tmp_path / "performance.md"
    perfreport.render(report, doc)
    assert "## Scaling on 2 cores" not in doc.read_text()


def test_percentiles_and_sustained_rate() -> None:
    assert perfstats.percentile([], 0.5) == 0.0
    assert perfstats.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert perfstats.percentile([5.0], 0.99) == 5.0
    # A ramp, a steady 10/s, a tail: the steady part is what counts.
    times = [0.0, 3.0] + [5.0 + i / 10 for i in range(100)] + [30.0]
    assert perfstats.sustained_rate(times) == pytest.approx(10.0, rel=0.05)
    assert perfstats.sustained_rate([1.0]) == 0.0
    series = perfstats.rate_series([0.1, 0.2, 6.0], 5.0)
    assert series == [[0.0, 0.4], [5.0, 0.2]]


def test_scaling_verdict_names_what_limits() -> None:
    one = {"articles_per_s": 7.0, "cpu_s_per_article": 0.14, "worker_cores": 0.98}
    two = {
        "articles_per_s": 9.0,
        "cpu_s_per_article": 0.16,
        "worker_cores": 1.44,
        "others_cores": 0.6,
        "broker_cores": 0.1,
        "bench_cores": 0.05,
        "machine_idle_cores": 0.0,
    }
    verdict = perfstats.scaling_verdict(one, two)
    assert verdict["speedup"] == pytest.approx(9 / 7, abs=1e-3)
    assert not verdict["meets_target"]
    assert any("other load" in x for x in verdict["limits"])
    assert any("contention" in x for x in verdict["limits"])
    good = perfstats.scaling_verdict(one, {**two, "articles_per_s": 13.0})
    assert good["meets_target"] and good["limits"] == []


def test_capacity_arithmetic() -> None:
    cap = perfstats.capacity(
        {"fetcher": 0.001, "cleaner": 0.02, "enricher": 0.05, "dedup": 0.005},
        {"enricher": 600.0},
        articles_per_day=8_640_000,  # 100 a second
        feeds=60_000,
        poll_interval_s=600,
        cpu_s_per_poll=0.001,
        peak_factor=2.0,
        utilisation=0.5,
    )
    assert cap["mean_articles_per_s"] == 100.0 and cap["peak_articles_per_s"] == 200.0
    enricher = cap["stages"]["enricher"]
    assert enricher["busy_cores_at_peak"] == 10.0 and enricher["cores"] == 20.0
    assert enricher["replicas"] == 20 and enricher["partitions"] == 40
    assert enricher["memory_gb"] == pytest.approx(20 * 600 / 1024, abs=0.01)
    # 200 articles/s x 1 ms + 100 polls/s x 1 ms, at half load.
    assert cap["stages"]["fetcher"]["cores"] == pytest.approx(0.6)
    assert cap["stages"]["fetcher"]["partitions"] == 6


def test_site_plans_copies_on_other_hosts() -> None:
    hosts = [f"127.0.0.{10 + i}" for i in range(6)]
    items = benchsite.plan_items(
        [0, 1, 2, 3], copies=3, hosts=hosts, feeds_per_host=2, phase="max", first_k=10
    )
    assert [it.k for it in items] == list(range(10, 22))
    for doc in range(4):
        mine = [it for it in items if it.doc == doc]
        assert len(mine) == 3 and len({it.host for it in mine}) == 3
    assert {it.section for it in items} == {"world", "business"}


def test_site_releases_and_paces() -> None:
    doc = Doc("aeb/x", b"<html><title>X</title><p>body</p></html>", "X")
    hosts = ["127.0.0.10", "127.0.0.11"]
    site = benchsite.PacedSite([doc], hosts, 8080, feeds_per_host=1)
    items = benchsite.plan_items(
        [0], copies=4, hosts=hosts, feeds_per_host=1, phase="max", first_k=0
    )
    site.add(items)
    resolve = site.resolver()
    assert resolve(items[0].host, items[0].path) is None  # not published yet
    site.release(2)
    assert site.released() == 2
    assert resolve(items[0].host, items[0].path) is not None
    assert resolve(items[3].host, items[3].path) is None
    feed = resolve(hosts[0], benchsite.feed_path("world"))
    assert feed is not None and items[0].path.encode() in feed[0]
    rel = site.release(4, rate=1000.0)
    assert rel.count(rel.t0) == 2 and rel.count(rel.t0 + 1.0) == 4


def test_plain_minhash_finds_a_copy() -> None:
    mh = benchbare.PlainMinHash()
    text = " ".join(f"word{i}" for i in range(300))
    assert mh.add(0, text) == set()
    assert mh.add(1, text.replace("word7 ", "other ")) == {0}
    assert mh.add(2, " ".join(f"else{i}" for i in range(300))) == set()


def test_stamp_watch_keeps_each_story_trace() -> None:
    from types import SimpleNamespace

    from services.common.settings import Settings
    from services.devtools import harness

    watch = benchpipeline.StampWatch(
        Settings(kafka_bootstrap="127.0.0.1:9"), set(), (harness.STORIES, harness.DLQ)
    )
    trace = {
        "fetched_at": "2026-12-01T10:00:00+00:00",
        "stages": {"poller": "2026-12-01T09:59:59+00:00", "dedup": "2026-12-01T10:00:02.5+00:00"},
    }
    value = {
        "story_id": "s1",
        "article_id": "a1",
        "verdict": "new",
        "decided_at": "2026-12-01T10:00:02.5+00:00",
        "article": {"id": "a1", "trace": trace},
    }
    rec = SimpleNamespace(
        topic=harness.STORIES, key=b"s1", value=json.dumps(value).encode(), partition=0, offset=7
    )
    watch._take(rec)
    assert watch.done_ids() == {"a1"}
    kept = watch.trace_of(harness.STORIES, "a1")
    assert kept is not None
    fetched, done = benchpipeline.stamp(kept, "fetched"), benchpipeline.stamp(kept, "dedup")
    assert fetched is not None and done is not None
    assert (done - fetched).total_seconds() == 2.5
    assert benchpipeline.stamp(kept, "cleaner") is None
