"""The arithmetic of `make bench`: percentiles, sustained rates, costs per article,
scaling and capacity. Pure functions over plain numbers, no Kafka, no clocks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

STAGES = ("fetcher", "cleaner", "enricher", "dedup")
OVERHEAD_TARGET = 1.15
SCALING_TARGET = 1.7
SECONDS_PER_DAY = 86_400.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 1]); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values, default=0.0), 3),
    }


def sustained_rate(times: Sequence[float], lo: float = 0.1, hi: float = 0.9) -> float:
    """Completions per second between the `lo` and `hi` shares of the completions: the
    steady part of a backlog being worked off, without the ramp up and the tail."""
    ordered = sorted(times)
    n = len(ordered)
    if n < 2:
        return 0.0
    a, b = int(lo * (n - 1)), math.ceil(hi * (n - 1))
    if b <= a:
        a, b = 0, n - 1
    span = ordered[b] - ordered[a]
    return (b - a) / span if span > 0 else 0.0


def rate_series(times: Sequence[float], bucket_s: float, start: float = 0.0) -> list[list[float]]:
    """[[bucket start, completions per second in it], ...] from `start` to the last time."""
    if not times:
        return []
    last = max(times)
    buckets = max(1, math.ceil((last - start) / bucket_s))
    counts = [0] * buckets
    for t in times:
        i = min(buckets - 1, max(0, int((t - start) // bucket_s)))
        counts[i] += 1
    return [[round(start + i * bucket_s, 2), round(c / bucket_s, 3)] for i, c in enumerate(counts)]


def per_article(total: Mapping[str, float], articles: int) -> dict[str, float]:
    return {k: round(v / articles, 5) if articles else 0.0 for k, v in total.items()}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def overhead(pipeline: Mapping[str, float], bare: Mapping[str, float]) -> dict[str, Any]:
    """Pipeline CPU per article over bare CPU per article, whole and per stage."""
    whole_p = sum(pipeline.get(s, 0.0) for s in STAGES)
    whole_b = sum(bare.get(s, 0.0) for s in STAGES)
    return {
        "ratio": ratio(whole_p, whole_b),
        "target": OVERHEAD_TARGET,
        "meets_target": bool(whole_b and whole_p / whole_b <= OVERHEAD_TARGET),
        "pipeline_cpu_s_per_article": round(whole_p, 5),
        "bare_cpu_s_per_article": round(whole_b, 5),
        "per_stage": {s: ratio(pipeline.get(s), bare.get(s)) for s in STAGES},
    }


def page_cost(
    fetcher_cpu_s_per_article: float, polls: int, articles: int, cpu_s_per_poll: float | None
) -> float:
    """The fetcher's CPU per article without its feed polls: a bench polls its few feeds
    far more often per article than a deployment polls its many."""
    if not articles or cpu_s_per_poll is None:
        return fetcher_cpu_s_per_article
    return max(0.0, fetcher_cpu_s_per_article - polls * cpu_s_per_poll / articles)


def scaling_verdict(one: Mapping[str, float], two: Mapping[str, float]) -> dict[str, Any]:
    """Speed-up of two workers over one, split into what the measurements show.

    speed-up = (worker CPU a second with 2 / with 1) x (CPU per article with 1 / with 2):
    the first factor is how many cores the workers got, the second how much dearer
    each article became when two ran at once (shared caches, hyperthreads, the broker).
    `others_cores` is the machine's busy CPU that was none of ours (other engineers).
    """
    speedup = ratio(two.get("articles_per_s"), one.get("articles_per_s"))
    cores = ratio(two.get("worker_cores"), one.get("worker_cores"))
    eff = ratio(one.get("cpu_s_per_article"), two.get("cpu_s_per_article"))
    limits: list[str] = []
    if speedup is not None and speedup < SCALING_TARGET:
        idle = two.get("machine_idle_cores", 0.0)
        if two.get("others_cores", 0.0) >= 0.3:
            limits.append(
                f"other load: {two['others_cores']:.2f} of the 2 cores were busy with processes"
                " not in this run"
            )
        if two.get("broker_cores", 0.0) + two.get("bench_cores", 0.0) >= 0.2:
            limits.append(
                f"the broker ({two.get('broker_cores', 0.0):.2f} cores) and the bench's own"
                f" producer and reader ({two.get('bench_cores', 0.0):.2f}) share the 2 cores"
            )
        if eff is not None and eff < 0.9:
            limits.append(f"each article cost {1 / eff:.2f}x the CPU with two workers (contention)")
        if idle >= 0.3:
            limits.append(
                f"{idle:.2f} cores stayed idle: the workers waited (input, commits, rebalance)"
            )
        if not limits:
            limits.append("no single cause above its threshold; see the figures")
    return {
        "speedup": speedup,
        "target": SCALING_TARGET,
        "meets_target": bool(speedup is not None and speedup >= SCALING_TARGET),
        "cores_factor": cores,
        "cpu_per_article_factor": eff,
        "limits": limits,
    }


def capacity(
    cpu_s_per_article: Mapping[str, float],
    peak_rss_mb: Mapping[str, float],
    *,
    articles_per_day: float = 5_000_000,
    feeds: int = 100_000,
    poll_interval_s: float = 600.0,
    cpu_s_per_poll: float | None = None,
    peak_factor: float = 3.0,
    utilisation: float = 0.7,
    broker_cpu_s_per_article: float | None = None,
) -> dict[str, Any]:
    """Cores, replicas, partitions and memory per stage for a day's articles.

    Sized for the peak hour (`peak_factor` x the day's mean rate) with every core at
    most `utilisation` busy. One replica is one single-threaded service process (one
    core); partitions are twice the replicas (room to add replicas without
    repartitioning), at least 6. The fetcher also pays for polling every feed each
    `poll_interval_s`, at `cpu_s_per_poll` (the pipeline's feeds are polled far less
    often than their articles arrive, so its measured cost per article leaves polling out).
    """
    mean = articles_per_day / SECONDS_PER_DAY
    peak = mean * peak_factor
    polls_per_s = feeds / poll_interval_s
    stages: dict[str, Any] = {}
    for stage in STAGES:
        cpu = cpu_s_per_article.get(stage, 0.0)
        busy = peak * cpu
        if stage == "fetcher" and cpu_s_per_poll is not None:
            busy += polls_per_s * cpu_s_per_poll
        cores = busy / utilisation
        replicas = max(1, math.ceil(cores))
        partitions = max(6, 2 * replicas)
        rss = peak_rss_mb.get(stage, 0.0)
        stages[stage] = {
            "cpu_s_per_article": round(cpu, 5),
            "busy_cores_at_peak": round(busy, 2),
            "cores": round(cores, 2),
            "replicas": replicas,
            "partitions": partitions,
            "memory_gb": round(replicas * rss / 1024, 2),
            "rss_mb_per_replica": round(rss, 1),
        }
    total_cores = sum(s["replicas"] for s in stages.values())
    out: dict[str, Any] = {
        "articles_per_day": articles_per_day,
        "feeds": feeds,
        "poll_interval_s": poll_interval_s,
        "polls_per_s": round(polls_per_s, 1),
        "cpu_s_per_poll": cpu_s_per_poll,
        "mean_articles_per_s": round(mean, 2),
        "peak_factor": peak_factor,
        "peak_articles_per_s": round(peak, 2),
        "utilisation": utilisation,
        "stages": stages,
        "total_cores": total_cores,
        "total_memory_gb": round(sum(s["memory_gb"] for s in stages.values()), 2),
    }
    if broker_cpu_s_per_article is not None:
        out["broker_busy_cores_at_peak"] = round(peak * broker_cpu_s_per_article, 2)
    return out


def headline(report: Mapping[str, Any]) -> dict[str, Any]:
    """The last line of `make bench`: the figures a reader looks for first."""
    top = report.get("max_throughput", {})
    fixed = report.get("fixed_load", {})
    lat = fixed.get("latency_s", {}).get("fetch_to_story", {})
    over = report.get("overhead", {})
    scaling = report.get("scaling", {})
    return {
        "articles_per_s": top.get("articles_per_s"),
        "offered_per_s": fixed.get("offered_per_s"),
        "p50_latency_s": lat.get("p50"),
        "p95_latency_s": lat.get("p95"),
        "p99_latency_s": lat.get("p99"),
        "overhead_ratio": over.get("ratio"),
        "overhead_target": OVERHEAD_TARGET,
        "cpu_s_per_article": top.get("cpu_s_per_article", {}),
        "bare_cpu_s_per_article": report.get("bare", {}).get("cpu_s_per_article", {}),
        "peak_rss_mb": report.get("peak_rss_mb", {}),
        "scaling_speedup": {k: v.get("speedup") for k, v in scaling.items()},
        "articles": top.get("articles"),
        "load_average": report.get("machine", {}).get("load_average_end"),
        "results": report.get("results_file"),
    }
