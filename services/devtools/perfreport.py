"""docs/performance.md and its plots from one `make bench` results file.

    python -m services.devtools.perfreport results/bench-<date>.json [--doc docs/performance.md]

The page is generated: every figure in it comes from the results file, so a new run
renders a new page. The plots (matplotlib, PNG) go beside it in `performance/`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt

from services.devtools.perfstats import OVERHEAD_TARGET, SCALING_TARGET, STAGES

PLOTS = ("throughput", "latency", "cpu_per_article", "scaling", "memory")
DPI = 110


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.1f}"


# ---------------------------------------------------------------- plots


def plot_throughput(report: Mapping[str, Any], path: Path) -> None:
    top, fixed = report.get("max_throughput", {}), report.get("fixed_load", {})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, phase, title, line, label in (
        (axes[0], top, "Maximum (backlog published at once)", "articles_per_s", "sustained"),
        (axes[1], fixed, "Fixed load", "offered_per_s", "offered"),
    ):
        series = phase.get("series") or phase.get("throughput_series") or []
        if series:
            width = series[1][0] - series[0][0] if len(series) > 1 else 1.0
            ax.bar(
                [t for t, _ in series],
                [r for _, r in series],
                width=width,
                align="edge",
                alpha=0.7,
                label=f"stories/s per {width:g} s",
            )
        if phase.get(line) is not None:
            ax.axhline(
                phase[line], color="tab:red", linestyle="--", label=f"{label} {phase[line]:.2f}/s"
            )
        ax.set_title(title)
        ax.set_xlabel("seconds since publication began")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("articles/s onto newswire.stories")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_latency(report: Mapping[str, Any], path: Path) -> None:
    fixed = report.get("fixed_load", {})
    series = fixed.get("latency_series") or []
    summary = fixed.get("latency_s", {}).get("fetch_to_story", {})
    fig, ax = plt.subplots(figsize=(10, 3.6))
    if series:
        ax.scatter([t for t, _ in series], [v for _, v in series], s=6, alpha=0.6, label="article")
    for q, color in (("p50", "tab:green"), ("p95", "tab:orange"), ("p99", "tab:red")):
        if summary.get(q) is not None:
            ax.axhline(summary[q], color=color, linestyle="--", label=f"{q} {summary[q]:.2f} s")
    ax.set_title(
        f"End-to-end latency (fetched → story) at {_fmt(fixed.get('offered_per_s'))} articles/s"
    )
    ax.set_xlabel("seconds since publication began (story time)")
    ax.set_ylabel("seconds")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_cpu(report: Mapping[str, Any], path: Path) -> None:
    pipeline = report.get("max_throughput", {}).get("cpu_s_per_article", {})
    bare = report.get("bare", {}).get("cpu_s_per_article", {})
    names = [*STAGES, "broker"]
    xs = range(len(names))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.38
    p_vals = [pipeline.get(n, 0.0) * 1000 for n in names]
    b_vals = [bare.get(n, 0.0) * 1000 if n in bare else 0.0 for n in names]
    ax.bar([x - width / 2 for x in xs], p_vals, width, label="pipeline (Kafka, processes)")
    ax.bar([x + width / 2 for x in xs], b_vals, width, label="bare libraries, one process")
    for x, v in zip(xs, p_vals, strict=True):
        ax.annotate(f"{v:.0f}", (x - width / 2, v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("CPU ms per article")
    ax.set_title("CPU per article per stage")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_scaling(report: Mapping[str, Any], path: Path) -> None:
    scaling = report.get("scaling", {})
    services = list(scaling) or ["(not run)"]
    fig, axes = plt.subplots(1, len(services), figsize=(4 * len(services), 3.6), squeeze=False)
    for ax, service in zip(axes[0], services, strict=True):
        runs = scaling.get(service, {}).get("runs", {})
        vals = [runs.get(w, {}).get("articles_per_s") or 0.0 for w in ("1", "2")]
        ax.bar(["1 worker", "2 workers"], vals, color=["tab:blue", "tab:orange"])
        ax.axhline(2 * vals[0], color="black", linestyle=":", label="2x one worker")
        speedup = scaling.get(service, {}).get("speedup")
        ax.set_title(f"{service}: {_fmt(speedup)}x")
        ax.set_ylabel("articles/s")
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("Scaling on 2 cores: 1 and 2 worker processes")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_memory(report: Mapping[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(10, 3.4))
    for name, series in (report.get("rss_series") or {}).items():
        if series:
            ax.plot([t for t, _ in series], [v for _, v in series], label=name)
    ax.set_xlabel("seconds since the services started")
    ax.set_ylabel("resident MB (with children)")
    ax.set_title("Resident memory per service")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def render_plots(report: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    makers = {
        "throughput": plot_throughput,
        "latency": plot_latency,
        "cpu_per_article": plot_cpu,
        "scaling": plot_scaling,
        "memory": plot_memory,
    }
    out = {}
    for name in PLOTS:
        path = folder / f"{name}.png"
        makers[name](report, path)
        out[name] = path
    return out


# ---------------------------------------------------------------- the page


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def stage_rows(report: Mapping[str, Any]) -> list[list[str]]:
    top = report.get("max_throughput", {}).get("cpu_s_per_article", {})
    fixed = report.get("fixed_load", {}).get("cpu_s_per_article", {})
    bare = report.get("bare", {}).get("cpu_s_per_article", {})
    per_stage = report.get("overhead", {}).get("per_stage", {})
    idle = report.get("quiet", {}).get("idle_cores", {})
    rss = report.get("peak_rss_mb", {})
    rows = []
    for stage in [*STAGES, "broker"]:
        rows.append(
            [
                stage,
                _ms(top.get(stage)),
                _ms(fixed.get(stage)),
                _ms(bare.get(stage)) if stage in bare else "–",
                _fmt(per_stage.get(stage)),
                _fmt(idle.get(stage), 3),
                _fmt(rss.get(stage), 0),
            ]
        )
    return rows


def _bottleneck(report: Mapping[str, Any]) -> str:
    cpu = report.get("max_throughput", {}).get("cpu_s_per_article", {})
    stages = {s: cpu.get(s, 0.0) for s in STAGES}
    if not any(stages.values()):
        return ""
    worst = max(stages, key=lambda s: stages[s])
    ceiling = 1 / stages[worst] if stages[worst] else 0.0
    return (
        f"The {worst} costs the most CPU per article ({_ms(stages[worst])} ms): one {worst} process"
        f" on a core of its own cannot pass {ceiling:.1f} articles/s, and the pipeline's measured"
        f" maximum ({_fmt(report.get('max_throughput', {}).get('articles_per_s'))} articles/s) is"
        " that ceiling less what the other stages and the broker take of the two cores."
    )


def render_markdown(report: Mapping[str, Any], plots: Mapping[str, str]) -> str:
    m = report.get("machine", {})
    cfg = report.get("config", {})
    top = report.get("max_throughput", {})
    fixed = report.get("fixed_load", {})
    over = report.get("overhead", {})
    bare = report.get("bare", {})
    cap = report.get("capacity", {})
    quiet = report.get("quiet", {})
    lat = fixed.get("latency_s", {})
    e2e = lat.get("fetch_to_story", {})
    out: list[str] = [
        "# Performance",
        "",
        f"Generated by `make bench` from `{report.get('results_file', '')}` on"
        f" {report.get('date', '')} (commit `{report.get('commit', '')}`); rerun it rather than"
        " edit this page. Figures from one run on a shared machine: read them with the load"
        " average beside them.",
        "",
        "## Headline",
        "",
        f"- **{_fmt(top.get('articles_per_s'))} articles/s** sustained from the feeds to"
        f" `newswire.stories` ({_fmt(top.get('articles'))} articles published at once;"
        f" {_fmt(top.get('articles_per_s_whole'))}/s over the whole phase with its ramp).",
        f"- End-to-end latency (the records' `trace`: fetched → story) at"
        f" {_fmt(fixed.get('offered_per_s'))} articles/s offered"
        f" ({_fmt(report.get('config', {}).get('load_share'))} of the maximum):"
        f" **p50 {_fmt(e2e.get('p50'))} s, p95 {_fmt(e2e.get('p95'))} s,"
        f" p99 {_fmt(e2e.get('p99'))} s** over {_fmt(e2e.get('n'))} articles.",
        f"- CPU per article, all four stages: {_ms(over.get('pipeline_cpu_s_per_article'))} ms;"
        f" the bare libraries on the same pages: {_ms(over.get('bare_cpu_s_per_article'))} ms;"
        f" **overhead ratio {_fmt(over.get('ratio'))}** (target ≤ {OVERHEAD_TARGET};"
        f" {'met' if over.get('meets_target') else 'not met'}).",
    ]
    out.append(
        f"- The machine's {_fmt(m.get('cores'))} cores were {_fmt(top.get('machine_busy_cores'))}"
        f" busy (every process, ours and others') during the maximum phase and"
        f" {_fmt(fixed.get('machine_busy_cores'))} during the fixed-load one; load average"
        f" {m.get('load_average_start')} at the start, {m.get('load_average_end')} at the end."
        " Where others' work rose after the maximum was measured, the fixed load was more than"
        " half of what the pipeline then had, and queueing before the enricher shows in p95/p99."
    )
    for service, s in report.get("scaling", {}).items():
        out.append(
            f"- {service}: 2 worker processes give **{_fmt(s.get('speedup'))}x** one worker's"
            f" articles/s (target ≥ {SCALING_TARGET};"
            f" {'met' if s.get('meets_target') else 'not met'})."
        )
    bottleneck = _bottleneck(report)
    out += ["", bottleneck, ""] if bottleneck else [""]
    out += [
        "## Machine and commands",
        "",
        f"- {_fmt(m.get('cores'))} cores ({m.get('cpu_model', '')}), {_fmt(m.get('memory_gb'))} GB,"
        f" {m.get('os', '')}; Python {m.get('python', '')}; Kafka {m.get('kafka', '')} (one local"
        " KRaft broker on 127.0.0.1, the same machine).",
        f"- Load average (1, 5, 15 min) at the start {m.get('load_average_start')} and the end"
        f" {m.get('load_average_end')}: the machine is shared, other engineers' work ran too.",
        f"- {_fmt(cfg.get('distinct_pages'))} distinct pages (article-extraction-benchmark and"
        f" trafilatura-eval-dev HTML) on {_fmt(cfg.get('hosts'))} loopback hosts with"
        f" {_fmt(cfg.get('feeds'))} RSS feeds; the maximum phase publishes"
        f" {_fmt(cfg.get('max_phase_pages'))} of them {_fmt(cfg.get('copies'))} times each under"
        " other URLs on other hosts (exact copies for dedup), the fixed-load phase the others"
        f" for {_fmt(cfg.get('seconds'))} s. Services' settings:"
        f" `{json.dumps(cfg.get('service_env', {}))}`.",
        "",
        "```sh",
        "make bench                         # everything, then this page",
        "make bench BENCH_ARGS='--pages 60 --seconds 30'   # a quick check",
        f"{report.get('command', '')}",
        "python -m services.devtools.perfreport results/bench-<date>.json   # this page again",
        "```",
        "",
        "## Per stage",
        "",
        "CPU milliseconds per article of each service's process tree (the cleaner's"
        " extraction worker included) from `/proc`, over the whole phase, so idle polling and"
        " heartbeats count; bare: the stage's own libraries alone (see below); idle: cores"
        f" used in {_fmt(quiet.get('seconds'))} s with nothing to do; peak RSS over the run.",
        "",
    ]
    out += _table(
        [
            "stage",
            "CPU ms/article (maximum)",
            "CPU ms/article (fixed load)",
            "bare ms/article",
            "ratio",
            "idle cores",
            "peak RSS MB",
        ],
        stage_rows(report),
    )
    out += [
        f"![CPU per article per stage]({plots['cpu_per_article']})",
        "",
        f"![Resident memory per service]({plots['memory']})",
        "",
    ]
    out += [
        "## Throughput and latency",
        "",
        f"![Throughput over the run]({plots['throughput']})",
        "",
        f"![End-to-end latency at fixed load]({plots['latency']})",
        "",
    ]
    names = {
        "fetch_to_story": "page fetched → story (headline)",
        "entry_to_story": "entry read from the feed → story",
        "published_to_story": "published in the feed → story (includes the poll interval)",
        "fetched_to_cleaner": "fetched → cleaned",
        "cleaner_to_enricher": "cleaned → enriched",
        "enricher_to_dedup": "enriched → story",
    }
    out += _table(
        ["latency at fixed load, seconds", "p50", "p95", "p99", "max", "n"],
        [
            [
                label,
                *(_fmt(lat.get(k, {}).get(q)) for q in ("p50", "p95", "p99", "max")),
                _fmt(lat.get(k, {}).get("n")),
            ]
            for k, label in names.items()
        ],
    )
    verdicts = top.get("verdicts", {})
    out += [
        f"Verdicts in the maximum phase: {', '.join(f'{k} {v}' for k, v in verdicts.items())};"
        f" dead-lettered {_fmt(top.get('dead_lettered'))}.",
        "",
        "## Bare parts",
        "",
        f"The same {_fmt(bare.get('pages'))} pages (each once) and the"
        f" {_fmt(bare.get('feeds'))} feeds in one process without Kafka"
        " (`services/devtools/benchbare.py`): aiohttp and `feedparser.parse` for the fetcher,"
        " `trafilatura.extract` for the cleaner, py3langid + spaCy NER + YAKE + the MiniLM ONNX"
        " embedding for the enricher (places, quotes, summary and statistics are Newswire's own"
        " code with no library to compare, so their cost counts as overhead), a plain MinHash"
        " with LSH for dedup (the pipeline's dedup also decides stories).",
        "",
    ]
    out += _table(
        ["part", "CPU ms/article"],
        [[k, _fmt(v, 2)] for k, v in (bare.get("part_cpu_ms_per_article") or {}).items()],
    )
    scaling = report.get("scaling", {})
    if scaling:
        out += [
            "## Scaling on 2 cores",
            "",
            "Each service alone (no other stage running), with 1 and then 2 worker processes"
            " in one consumer group, on the same records produced straight onto its input topic;"
            " articles/s over the middle 80% of the outputs. `cores`: CPU seconds a second of"
            " the workers, the broker, the bench's own producer and reader, and of processes"
            " outside this run.",
            "",
            f"![Scaling]({plots['scaling']})",
            "",
        ]
        rows = []
        for service, s in scaling.items():
            for w, r in s.get("runs", {}).items():
                rows.append(
                    [
                        service,
                        w,
                        _fmt(r.get("articles_per_s")),
                        _ms(r.get("cpu_s_per_article")),
                        _fmt(r.get("worker_cores")),
                        _fmt(r.get("broker_cores")),
                        _fmt(r.get("bench_cores")),
                        _fmt(r.get("others_cores")),
                        _fmt(r.get("machine_idle_cores")),
                    ]
                )
        out += _table(
            [
                "service",
                "workers",
                "articles/s",
                "CPU ms/article",
                "worker cores",
                "broker cores",
                "bench cores",
                "other load cores",
                "idle cores",
            ],
            rows,
        )
        for service, s in scaling.items():
            limits = "; ".join(s.get("limits") or []) or "target met"
            out.append(
                f"- {service}: speed-up {_fmt(s.get('speedup'))}x = cores"
                f" {_fmt(s.get('cores_factor'))}x × per-article efficiency"
                f" {_fmt(s.get('cpu_per_article_factor'))}x. {limits}."
            )
        out.append("")
    out += render_capacity(cap)
    return "\n".join(out).rstrip() + "\n"


def render_capacity(cap: Mapping[str, Any]) -> list[str]:
    if not cap:
        return []
    stages = cap.get("stages", {})
    out = [
        "## Capacity on paper",
        "",
        f"For {_fmt(int(cap.get('articles_per_day', 0)))} articles a day from"
        f" {_fmt(int(cap.get('feeds', 0)))} feeds: {_fmt(cap.get('mean_articles_per_s'))}"
        f" articles/s on average; sized for the peak hour at {_fmt(cap.get('peak_factor'))}x the"
        f" day's mean, {_fmt(cap.get('peak_articles_per_s'))} articles/s, with no core more than"
        f" {int(100 * cap.get('utilisation', 0.7))}% busy. Costs are this run's CPU per article"
        " (maximum phase; the fetcher's without its feed polls, which are counted apart"
        " below); one replica is one service process on one core; partitions are twice"
        " the replicas, at least 6, so replicas can be added without repartitioning. The fetcher"
        f" also polls every feed each {_fmt(int(cap.get('poll_interval_s', 0)))} s"
        f" ({_fmt(cap.get('polls_per_s'))} polls/s) at {_ms(cap.get('cpu_s_per_poll'))} ms CPU a"
        f" poll ({cap.get('cpu_s_per_poll_source', '')}). Memory is replicas × the peak RSS"
        " measured here.",
        "",
    ]
    rows = [
        [
            stage,
            _ms(s.get("cpu_s_per_article")),
            _fmt(s.get("busy_cores_at_peak")),
            _fmt(s.get("cores")),
            _fmt(s.get("replicas")),
            _fmt(s.get("partitions")),
            _fmt(s.get("memory_gb")),
        ]
        for stage, s in stages.items()
    ]
    rows.append(
        ["total", "", "", "", _fmt(cap.get("total_cores")), "", _fmt(cap.get("total_memory_gb"))]
    )
    out += _table(
        [
            "stage",
            "CPU ms/article",
            "busy cores at peak",
            "cores",
            "replicas",
            "partitions",
            "memory GB",
        ],
        rows,
    )
    dedup = stages.get("dedup", {})
    out += [
        "Kafka: three brokers with replication factor 3 (`NEWSWIRE_TOPIC_REPLICATION_FACTOR=3`,"
        " `min.insync.replicas=2`) so a broker can be lost; the partitions above per topic"
        " (`NEWSWIRE_TOPIC_PARTITIONS`). At the broker CPU per article measured here (one node,"
        " no replication, idle work included) the peak keeps"
        f" {_fmt(cap.get('broker_busy_cores_at_peak'))} broker cores busy, more with"
        " replication: spread over the three brokers.",
        "",
        f"Dedup: the lookups scale with partitions, but the decider is one ordered sequence per"
        f" story scope; at {_ms(dedup.get('cpu_s_per_article'))} ms per article the whole peak"
        " needs"
        f" {_fmt(dedup.get('busy_cores_at_peak'))} busy cores, which one decider process"
        " can give only while that is under one core: beyond it, a scope per language or desk"
        " (issue 15 item 4). A 10x burst (breaking news) is absorbed as consumer lag and worked off"
        " at the headroom the 70% target leaves.",
        "",
    ]
    return out


def render(report: Mapping[str, Any], doc: Path) -> dict[str, Path]:
    """Write `doc` and its plots (in `<doc folder>/performance/`); return the plot paths."""
    folder = doc.parent / doc.stem
    plots = render_plots(report, folder)
    links = {name: f"{doc.stem}/{path.name}" for name, path in plots.items()}
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(render_markdown(report, links))
    return plots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--doc", type=Path, default=Path("docs/performance.md"))
    args = parser.parse_args(argv)
    report = json.loads(args.results.read_text())
    for path in render(report, args.doc).values():
        print(path)
    print(args.doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
