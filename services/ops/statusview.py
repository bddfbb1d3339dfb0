"""`newswire status`, the pure half: what the services' /metrics and the cluster say,
summed up per stage, and drawn as one screen of text.

Nothing here talks to the network (status.py does): the inputs are the metrics pages'
text and the figures read from the cluster, so the summary can be checked as data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

STAGES = ("fetcher", "cleaner", "enricher", "dedup")
# What each stage reads (its consumer group's lag) and writes (its output rate).
INPUTS = {
    "fetcher": ("newswire.feeds", "newswire.entries"),
    "cleaner": ("newswire.pages",),
    "enricher": ("newswire.articles",),
    "dedup": ("newswire.enriched", "newswire.dedup-answers"),
}
OUTPUTS = {
    "fetcher": "newswire.pages",
    "cleaner": "newswire.articles",
    "enricher": "newswire.enriched",
    "dedup": "newswire.stories",
}
DLQ_TOPIC = "newswire.dlq"


@dataclass
class Probe:
    """One service's endpoints as read just now."""

    name: str
    url: str
    healthy: bool | None = None  # None: not reachable
    ready: bool | None = None
    metrics: str = ""
    error: str | None = None


@dataclass
class Cluster:
    """Figures read from the brokers."""

    lag: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> topic -> records
    last_minute: dict[str, int] = field(default_factory=dict)  # topic -> records
    error: str | None = None


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample of a Prometheus text page."""
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.append((sample.name, dict(sample.labels), float(sample.value)))
    return out


def summarize(probes: list[Probe], cluster: Cluster) -> dict[str, Any]:
    """The status as data (what --json prints)."""
    dlq: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    feeds = {"tracked": 0.0, "failing": 0.0}
    poll_errors: dict[str, float] = defaultdict(float)
    open_stories: float | None = None
    verdicts: dict[str, float] = defaultdict(float)
    services = []
    for probe in probes:
        services.append(
            {
                "name": probe.name,
                "url": probe.url,
                "healthy": probe.healthy,
                "ready": probe.ready,
                "error": probe.error,
            }
        )
        for name, labels, value in samples(probe.metrics) if probe.metrics else ():
            if name == "newswire_dlq_records_total":
                dlq[labels.get("stage", "?")][labels.get("reason", "?")] += value
            elif name == "newswire_feeds_tracked":
                feeds["tracked"] += value
            elif name == "newswire_feeds_failing":
                feeds["failing"] += value
            elif name == "newswire_feed_poll_errors_total":
                poll_errors[labels.get("reason", "?")] += value
            elif name == "newswire_dedup_open_stories":
                open_stories = (open_stories or 0.0) + value
            elif name == "newswire_dedup_verdicts_total":
                verdicts[labels.get("verdict", "?")] += value
    stages = {}
    for stage in STAGES:
        group = f"newswire-{stage}"
        lags = cluster.lag.get(group, {})
        out = OUTPUTS[stage]
        stages[stage] = {
            "group": group,
            "lag": {t: lags[t] for t in INPUTS[stage] if t in lags},
            "output": out,
            "out_per_s": round(cluster.last_minute.get(out, 0) / 60.0, 2)
            if out in cluster.last_minute
            else None,
        }
    return {
        "services": services,
        "stages": stages,
        "dlq": {
            "last_minute": cluster.last_minute.get(DLQ_TOPIC),
            "by_stage_and_reason": {s: dict(r) for s, r in sorted(dlq.items())},
        },
        "feeds": {**{k: int(v) for k, v in feeds.items()}, "poll_errors": dict(poll_errors)},
        "stories": {
            "open": None if open_stories is None else int(open_stories),
            "verdicts": {k: int(v) for k, v in sorted(verdicts.items())},
        },
        "cluster_error": cluster.error,
        "healthy": all(s["healthy"] and s["ready"] for s in services) and cluster.error is None,
    }


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def render(status: dict[str, Any], *, now: str = "") -> str:
    """One screen of text."""
    lines = [f"Newswire status {now}".rstrip(), ""]
    lines.append(f"{'service':10} {'healthy':8} {'ready':6} url")
    for s in status["services"]:
        note = f"  ({s['error']})" if s["error"] else ""
        lines.append(f"{s['name']:10} {_yes(s['healthy']):8} {_yes(s['ready']):6} {s['url']}{note}")
    lines.append("")
    lines.append(f"{'stage':10} {'out/s (1 min)':14} {'lag (records not yet committed)'}")
    for stage, row in status["stages"].items():
        rate = "-" if row["out_per_s"] is None else f"{row['out_per_s']:.2f}"
        lag = ", ".join(f"{t.removeprefix('newswire.')} {n}" for t, n in row["lag"].items())
        lines.append(f"{stage:10} {rate:14} {lag or '-'}")
    if status["cluster_error"]:
        lines.append(f"cluster: {status['cluster_error']}")
    lines.append("")
    dlq = status["dlq"]
    last = "-" if dlq["last_minute"] is None else str(dlq["last_minute"])
    lines.append(f"dead letters: {last} in the last minute; since each service started:")
    if not dlq["by_stage_and_reason"]:
        lines.append("  none")
    for stage, reasons in dlq["by_stage_and_reason"].items():
        parts = ", ".join(f"{r} {int(n)}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
        lines.append(f"  {stage:10} {parts}")
    feeds = status["feeds"]
    errors = ", ".join(f"{r} {int(n)}" for r, n in sorted(feeds["poll_errors"].items()))
    lines.append("")
    lines.append(
        f"feeds: {feeds['tracked']} tracked, {feeds['failing']} failing"
        + (f" (poll errors: {errors})" if errors else "")
    )
    stories = status["stories"]
    verdicts = ", ".join(f"{v} {n}" for v, n in stories["verdicts"].items())
    opened = "-" if stories["open"] is None else str(stories["open"])
    lines.append(f"stories: {opened} open" + (f"; verdicts {verdicts}" if verdicts else ""))
    lines.append("")
    lines.append("healthy" if status["healthy"] else "NOT HEALTHY: see above")
    return "\n".join(lines)
