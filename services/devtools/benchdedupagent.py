"""Dedup through its Faust workers on a local broker, against the engine in one process.

    python -m services.devtools.benchdedupagent DATASETS_DIR --out results/bench-dedup-agent.json

DATASETS_DIR holds `ecbplus-dev/` (462 articles about 40 events: new articles and
stories) and `article-extraction-benchmark/` (181 gold bodies, each also sent as an
exact copy and as a near copy with a few words changed, under other ids and URLs):
about 1,000 enriched articles, each with the language the enricher would give it
(`services.common.language.detect` of the body), spread over six outlets' hosts (a copy
on its original's outlet). They go through in two mixes, one after the other, each
timed on its own:

* `new_heavy`: every ECB+ article and every benchmark body once (nearly all `new`);
* `duplicate_heavy`: the exact and the near copies of the bodies (all duplicates).

One run measures two configurations on the same input, each on a fresh local broker
(the number of decision sequences is fixed once the topics exist):

* `1seq-1w`: one worker, one decision sequence (the default deployment);
* `2seq-2w`: two workers, two sequences, story scope `site` with the outlets mapped
  alternately to sequence 0 and 1 (NEWSWIRE_DEDUP_SCOPE_MAP), so each gets half.

`sequences_speedup` is the second's articles/s over the first's. `--sequences N` and/or
`--workers N` run one configuration alone. With NEWSWIRE_KAFKA_BOOTSTRAP set, only one
configuration can run (its topics fix the sequence count), on that cluster: the first
one asked for, and `external_broker` says so.

Per configuration and mix: articles/s through the workers, the workers' CPU per article
(and the local broker's), records per article, the machine's busy cores and load
average; and the engine alone on the same articles (`Deduper.process` in this process,
CPU time). The top level is the first configuration's whole run, as before the
configurations and the mixes were split.

Correctness, per configuration: the articles in the order each partition of the
workers' newswire.dedup-sequence holds them are run through `newswire cluster`'s own
code (`offline.cluster_lines` over JSON lines, with the configuration's scope settings:
one engine per sequence); `verdicts_match` is true when every article has the same
verdict, story id, original and version on newswire.stories as there, and each worker
is checked to hold its share of newswire.dedup-answers (one sequence each).

The last line of stdout is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.structs import TopicPartition

from services.common.kafka import (
    consumer,
    end_offsets,
    ensure_topics,
    partitions_of,
    producer,
)
from services.common.language import detect
from services.common.models import Enriched, Trace, encode
from services.common.settings import Settings
from services.dedup.config import config_from
from services.dedup.engine import Deduper, sequence_of_item
from services.dedup.offline import cluster_lines
from services.dedup.pipeline import arrival, item_of
from services.devtools.broker import LocalBroker, start_broker
from services.devtools.stack import Stack

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SEED = 20261126
# Hosts the articles are spread over: story scope `site` names them.
OUTLETS = tuple(f"outlet{i}.example" for i in range(6))
# Issue 15 item 4's bar for two deciders on two scopes.
SPEEDUP_TARGET = 1.7


def _read_gold(folder: Path) -> dict[str, Any]:
    path = folder / "ground-truth.json"
    if not path.exists():
        path = folder / "ground-truth.json.gz"
        return dict(json.loads(gzip.decompress(path.read_bytes())))
    return dict(json.loads(path.read_text()))


MIXES = ("new_heavy", "duplicate_heavy")
# What the story records must agree on with `newswire cluster`.
COMPARED = ("verdict", "story_id", "duplicate_of", "version")


@dataclass(frozen=True)
class Layout:
    """One configuration: workers, decision sequences and the story scope."""

    workers: int
    sequences: int
    scope: str = "none"
    scope_map: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.sequences}seq-{self.workers}w"

    def env(self) -> dict[str, str]:
        return {
            "NEWSWIRE_DEDUP_SEQUENCES": str(self.sequences),
            "NEWSWIRE_DEDUP_SCOPE": self.scope,
            "NEWSWIRE_DEDUP_SCOPE_MAP": json.dumps(self.scope_map),
        }

    def settings(self, bootstrap: str) -> Settings:
        return Settings(
            kafka_bootstrap=bootstrap,
            dedup_sequences=self.sequences,
            dedup_scope=self.scope,
            dedup_scope_map=self.scope_map,
        )


def layout(workers: int, sequences: int) -> Layout:
    """With more than one sequence, scope `site`, the outlets dealt out in turn."""
    if sequences <= 1:
        return Layout(workers, 1)
    return Layout(workers, sequences, "site", {h: i % sequences for i, h in enumerate(OUTLETS)})


def articles(datasets: Path, run: str) -> dict[str, list[Enriched]]:
    """The two mixes: originals first (new-heavy), then their copies (duplicate-heavy)."""
    rng = random.Random(SEED)
    originals: list[tuple[str, str | None, str]] = []
    copies: list[tuple[str, str | None, str]] = []
    for line in (datasets / "ecbplus-dev" / "articles.jsonl").read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            originals.append((f"ecb-{rec['id']}", rec.get("title"), rec["text"]))
    gold = _read_gold(datasets / "article-extraction-benchmark")
    for key, value in sorted(gold.items()):
        body = str(value.get("articleBody") or "")
        if len(body.split()) < 30:
            continue
        words = body.split()
        for i in sorted(rng.sample(range(len(words)), 3)):
            words[i] = f"changed{i}"
        originals.append((f"aeb-{key}", None, body))
        copies += [(f"copy-{key}", None, body), (f"near-{key}", None, " ".join(words))]
    rng.shuffle(originals)
    rng.shuffle(copies)
    # Outlets dealt out in turn over the shuffled originals (an even split whatever the
    # scope map); a copy is on its original's outlet, so a copy is found under any
    # scope and the duplicate-heavy mix stays all duplicates when scopes are split.
    outlet = {aid: OUTLETS[i % len(OUTLETS)] for i, (aid, _, _) in enumerate(originals)}
    return {
        mix: [
            _enriched(run, aid, title, text, outlet[_original(aid)]) for aid, title, text in chosen
        ]
        for mix, chosen in zip(MIXES, (originals, copies), strict=True)
    }


def _original(aid: str) -> str:
    """The id of the original a copy (`copy-`, `near-`) was made from; an original's own."""
    kind, _, key = aid.partition("-")
    return f"aeb-{key}" if kind in ("copy", "near") else aid


def _enriched(run: str, aid: str, title: str | None, text: str, host: str) -> Enriched:
    return Enriched(
        id=f"{run}-{aid}",
        url=f"http://{host}/{run}/{aid}",
        title=title,
        text=text,
        paragraphs=[p for p in text.split("\n") if p.strip()] or [text],
        # What the enricher sets (its language step runs this on the body): dedup then
        # weighs terms by that language's word frequencies without detecting it again.
        language=detect(text)[0],
        trace=Trace(fetched_at=FETCHED),
    )


def warm_up(run: str, n: int = 20) -> list[Enriched]:
    rng = random.Random(SEED)
    texts = [" ".join(f"warm{rng.randrange(10**6)}" for _ in range(60)) for _ in range(n)]
    return [
        Enriched(
            id=f"warm{run}-{i}",
            # On every outlet: each sequence's decider warms up too.
            url=f"http://{OUTLETS[i % len(OUTLETS)]}/{run}/warm{i}",
            text=t,
            paragraphs=[t],
            trace=Trace(fetched_at=FETCHED),
        )
        for i, t in enumerate(texts)
    ]


async def produce(settings: Settings, batch: list[Enriched]) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        futures = [
            await prod.send("newswire.enriched", key=a.id.encode(), value=encode(a)) for a in batch
        ]
        await asyncio.gather(*futures)
    finally:
        await prod.stop()


async def collect(
    settings: Settings, prefix: str, n: int, timeout: float
) -> dict[str, dict[str, Any]]:
    """The story records (verdict, story id, original, version) by article id of the
    first `n` distinct articles whose id starts `prefix`."""
    cons = consumer(settings, "newswire.stories", group_id=None, auto_offset_reset="earliest")
    await cons.start()
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < n and time.monotonic() < deadline:
            batches = await cons.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for rec in records:
                    value = json.loads(rec.value or b"{}")
                    aid = str(value.get("article_id", ""))
                    if aid.startswith(prefix) and aid not in seen:
                        seen[aid] = {k: value.get(k) for k in COMPARED}
    finally:
        await cons.stop()
    return seen


async def sequence_order(
    settings: Settings, starts: dict[int, int], ids: set[str]
) -> dict[int, list[str]]:
    """Article ids in the order each partition (decision sequence) of the workers'
    newswire.dedup-sequence holds them, from `starts` until every one of `ids` is found
    (or the topic ends)."""
    topic = "newswire.dedup-sequence"
    cons = consumer(settings, group_id=None, auto_offset_reset="earliest")
    await cons.start()
    order: dict[int, list[str]] = {p: [] for p in starts}
    missing = set(ids)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(starts)] or [TopicPartition(topic, 0)]
        cons.assign(tps)
        for tp in tps:
            cons.seek(tp, starts.get(tp.partition, 0))
        while missing:
            batches = await cons.getmany(timeout_ms=2000, max_records=5000)
            if not batches:
                break
            for tp, records in batches.items():
                for rec in records:
                    key = (rec.key or b"").decode()
                    order.setdefault(tp.partition, []).append(key)
                    missing.discard(key)
    finally:
        await cons.stop()
    return order


def cluster_json(article: Enriched) -> str:
    """An article as a line of `newswire cluster`'s input."""
    return json.dumps(
        {
            "id": article.id,
            "text": article.text,
            "url": article.url,
            "canonical_url": article.canonical_url,
            "title": article.title,
            "published": article.published.isoformat() if article.published else None,
            "language": article.language,
            "site": article.site,
            "feed_url": article.feed_url,
            "entities": [e.text for e in article.entities] or None,
        }
    )


def cluster_run(items: list[Enriched], settings: Settings) -> dict[str, dict[str, Any]]:
    """What `newswire cluster` says of `items` in this order under `settings`' scopes
    (one engine per sequence), by article id."""
    rows = cluster_lines((cluster_json(a) for a in items), config_from(settings))
    return {str(r["id"]): {k: r.get(k) for k in COMPARED} for r in rows}


async def record_counts(settings: Settings) -> dict[str, int]:
    """Records so far on each topic dedup writes (its hops, its tables' changelogs and
    newswire.stories): the end offsets summed over partitions."""
    cons = consumer(settings, group_id=None)
    await cons.start()
    try:
        names = sorted(t for t in await cons.topics() if "dedup" in t or t == "newswire.stories")
        tps = [TopicPartition(t, p) for t in names for p in await partitions_of(settings, t)]
        ends = await cons.end_offsets(tps) if tps else {}
    finally:
        await cons.stop()
    counts: dict[str, int] = dict.fromkeys(names, 0)
    for tp, end in ends.items():
        counts[tp.topic] += end
    return counts


def _records_per_article(before: dict[str, int], after: dict[str, int], n: int) -> dict[str, float]:
    """Records written per article on each topic between two `record_counts`."""
    return {
        topic: round((after[topic] - before.get(topic, 0)) / n, 2)
        for topic in sorted(after)
        if n and after[topic] > before.get(topic, 0)
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0.0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_of(pids: list[int]) -> float:
    return sum(_cpu_seconds(pid) for pid in pids)


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, all processes), so the
    share of the cores other work took during a mix can be told from ours."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    # user nice system idle iowait irq softirq steal (guest time is inside user already).
    busy = sum(values[:8]) - values[3] - values[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _per_article_ms(seconds: float, n: int) -> float | None:
    return round(seconds / n * 1000, 2) if n else None


def held_answers(stack: Stack) -> dict[str, list[int]]:
    """The newswire.dedup-answers partitions (decision sequences) each worker last
    reported holding."""
    return {name: proc.held("newswire.dedup-answers") for name, proc in stack.procs.items()}


def _assignments(stack: Stack) -> int:
    """How many assignments the workers have logged so far (a rebalance adds some)."""
    return sum(len(p.assignments()) for p in stack.procs.values())


def _spread(held: dict[str, list[int]], sequences: int) -> bool:
    """Every sequence held, and with as many workers as sequences, one each."""
    every = sorted(p for parts in held.values() for p in parts) == list(range(sequences))
    if len(held) == sequences:
        return every and all(len(parts) == 1 for parts in held.values())
    return every


def wait_spread(stack: Stack, sequences: int, timeout: float) -> dict[str, list[int]]:
    """Until the workers hold the sequences between them (see `_spread`); a new worker
    joining makes the group rebalance, and the mixes are timed only after that."""
    deadline = time.monotonic() + timeout
    held = held_answers(stack)
    while not _spread(held, sequences) and time.monotonic() < deadline:
        for proc in stack.procs.values():
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited: {proc.log.read_text()[-2000:]}")
        time.sleep(1.0)
        held = held_answers(stack)
    return held


@dataclass
class Measured:
    """What one configuration's run gave."""

    stories: dict[str, dict[str, Any]]
    mixes: dict[str, dict[str, Any]]
    order: dict[int, list[str]]
    held: dict[str, list[int]]
    rebalanced: bool
    local_broker: bool


def run_layout(
    lay: Layout,
    mixes: dict[str, list[Enriched]],
    warm: list[Enriched],
    run: str,
    external: str | None,
    timeout: float,
) -> Measured:
    """Start a broker (unless `external`) and `lay.workers` dedup workers, warm them up,
    then send each mix and time it until every article has its story record."""
    broker: LocalBroker | None = None if external else start_broker()
    bootstrap = external or (broker.bootstrap if broker else "")
    settings = lay.settings(bootstrap)
    run_dir = Path(tempfile.mkdtemp(prefix=f"newswire-bench-dedup-{lay.name}-"))
    stack = Stack(bootstrap, seeds_url="http://127.0.0.1:9", run_dir=run_dir)
    stories: dict[str, dict[str, Any]] = {}
    measured: dict[str, dict[str, Any]] = {}
    try:
        asyncio.run(ensure_topics(settings))
        starts = asyncio.run(end_offsets(settings, "newswire.dedup-sequence"))
        for i in range(lay.workers):
            stack.start_service(f"dedup-{i}", lay.env(), service="dedup")
        for proc in stack.procs.values():
            proc.wait_ready(timeout)
        held = wait_spread(stack, lay.sequences, timeout)
        names = {name: p.popen.pid for name, p in stack.procs.items()}
        workers = list(names.values())
        brokers = [broker.pid] if broker is not None else []
        # Warm-up: group joined, tables recovered, models loaded; texts of their own.
        asyncio.run(produce(settings, warm))
        asyncio.run(collect(settings, f"warm{run}-", len(warm), timeout))
        assigned_before = _assignments(stack)
        for mix in MIXES:
            records_before = asyncio.run(record_counts(settings))
            cpu_before, broker_before = _cpu_of(workers), _cpu_of(brokers)
            each_before = {name: _cpu_seconds(pid) for name, pid in names.items()}
            busy_before = _machine_busy_seconds()
            # This process produces the mix and reads the stories back: its CPU is on the
            # same cores as the workers' and the broker's.
            bench_before = _cpu_seconds(os.getpid())
            started = time.monotonic()
            asyncio.run(produce(settings, mixes[mix]))
            ids = {a.id for a in mixes[mix]}
            got = asyncio.run(collect(settings, f"{run}-", len(stories) + len(ids), timeout))
            seconds = time.monotonic() - started
            measured[mix] = {
                "seconds": seconds,
                "decided": sum(1 for i in got if i in ids),
                "worker_cpu": _cpu_of(workers) - cpu_before,
                # Whether the work was shared: each worker's own CPU.
                "worker_cpu_each": {
                    name: _cpu_seconds(pid) - each_before[name] for name, pid in names.items()
                },
                "broker_cpu": _cpu_of(brokers) - broker_before,
                "machine_busy": _machine_busy_seconds() - busy_before,
                "bench_cpu": _cpu_seconds(os.getpid()) - bench_before,
                "load_average": round(os.getloadavg()[0], 2),
            }
            # Counted once the mix is decided; changelog writes of its last decisions
            # may still be on their way (a handful of records).
            measured[mix]["records"] = _records_per_article(
                records_before, asyncio.run(record_counts(settings)), len(ids)
            )
            stories.update(got)
        rebalanced = _assignments(stack) != assigned_before
        held = held_answers(stack)
        # Warm-up articles included: they are in the workers' state too.
        ids = {a.id for m in MIXES for a in mixes[m]} | {a.id for a in warm}
        order = asyncio.run(sequence_order(settings, starts, ids))
    finally:
        stack.stop()
        if broker is not None:
            broker.stop()
    return Measured(stories, measured, order, held, rebalanced, broker is not None)


def check(
    lay: Layout,
    got: Measured,
    by_id: dict[str, Enriched],
    run: str,
) -> dict[str, Any]:
    """The workers' story records against `newswire cluster` with the same scope
    settings, fed each sequence's articles in the order that sequence holds them."""
    settings = lay.settings("")
    config = config_from(settings)
    # Each sequence's engine sees only its own articles, so the sequences one after the
    # other decide as the workers did in parallel.
    in_order = [
        by_id[i] for part in sorted(got.order) for i in dict.fromkeys(got.order[part]) if i in by_id
    ]
    # Where the workers' route put each article, against where the engine's scope rule
    # says it belongs: a wrong placement would make the check below meaningless.
    misplaced = sorted(
        i
        for part, ids in got.order.items()
        for i in ids
        if i in by_id and sequence_of_item(item_of(by_id[i]), config) != part
    )
    offline = {i: r for i, r in cluster_run(in_order, settings).items() if i.startswith(f"{run}-")}
    expected = {i for i in by_id if i.startswith(f"{run}-")}
    disagree = sorted(i for i in expected if got.stories.get(i) != offline.get(i))
    return {
        "verdicts_match": not disagree and not misplaced and len(offline) == len(expected),
        "mismatches": len(disagree),
        "disagreements": disagree[:20],
        "misplaced": len(misplaced),
    }


def summarise(
    lay: Layout,
    got: Measured,
    mixes: dict[str, list[Enriched]],
    engine_cpu: dict[str, float],
    checked: dict[str, Any],
) -> dict[str, Any]:
    config = config_from(lay.settings(""))
    verdicts = {i: str(r["verdict"]) for i, r in got.stories.items()}
    batch = [a for mix in MIXES for a in mixes[mix]]
    seconds = sum(m["seconds"] for m in got.mixes.values())
    agent_rate = len(verdicts) / seconds if seconds else 0.0
    engine_total = sum(engine_cpu.values())
    engine_rate = len(batch) / engine_total if engine_total else 0.0
    by_mix: dict[str, Any] = {}
    for mix in MIXES:
        m, n = got.mixes.get(mix, {}), len(mixes[mix])
        rate = m["decided"] / m["seconds"] if m.get("seconds") else 0.0
        engine_mix = n / engine_cpu[mix] if engine_cpu[mix] else 0.0
        mix_verdicts = Counter(verdicts[a.id] for a in mixes[mix] if a.id in verdicts)
        split = Counter(sequence_of_item(item_of(a), config) for a in mixes[mix])
        worker_ms = _per_article_ms(m.get("worker_cpu", 0.0), n)
        broker_ms = _per_article_ms(m.get("broker_cpu", 0.0), n) if got.local_broker else None
        by_mix[mix] = {
            "articles": n,
            "decided": int(m.get("decided", 0)),
            "seconds": round(m.get("seconds", 0.0), 2),
            "agent_articles_per_s": round(rate, 1),
            "engine_articles_per_cpu_s": round(engine_mix, 1),
            "ratio": round(rate / engine_mix, 4) if engine_mix else None,
            "worker_cpu_ms_per_article": worker_ms,
            "broker_cpu_ms_per_article": broker_ms,
            "engine_cpu_ms_per_article": _per_article_ms(engine_cpu[mix], n),
            # Cores in use while the mix ran: the workers, the broker, and the machine
            # as a whole (everything else on it included), against its cores.
            "worker_cpu_ms_per_article_each": {
                name: _per_article_ms(cpu, n) for name, cpu in m.get("worker_cpu_each", {}).items()
            },
            "worker_cores": round(m.get("worker_cpu", 0.0) / m["seconds"], 2)
            if m.get("seconds")
            else None,
            "broker_cores": round(m.get("broker_cpu", 0.0) / m["seconds"], 2)
            if m.get("seconds") and got.local_broker
            else None,
            "bench_process_cores": round(m.get("bench_cpu", 0.0) / m["seconds"], 2)
            if m.get("seconds")
            else None,
            "machine_busy_cores": round(m.get("machine_busy", 0.0) / m["seconds"], 2)
            if m.get("seconds")
            else None,
            # The machine's CPU (everything on it) per article decided, and the rate its
            # cores would allow at that cost if every one of them were busy: how close to
            # the machine's own limit the configuration ran.
            "machine_cpu_ms_per_article": _per_article_ms(m.get("machine_busy", 0.0), n),
            "machine_limit_articles_per_s": round((os.cpu_count() or 1) * n / m["machine_busy"], 1)
            if m.get("machine_busy")
            else None,
            "load_average": m.get("load_average"),
            # Articles per decision sequence (the scope split).
            "per_sequence": {str(s): split[s] for s in sorted(split)},
            # Where the broker's work comes from: records per article by topic.
            "records_per_article": m.get("records", {}),
            "records_per_article_total": round(sum(m.get("records", {}).values()), 1),
            "verdicts": dict(mix_verdicts),
            "new_share": round(mix_verdicts.get("new", 0) / max(1, sum(mix_verdicts.values())), 3),
        }
    return {
        "workers": lay.workers,
        "sequences": lay.sequences,
        "scope": lay.scope,
        "scope_map": lay.scope_map,
        "articles": len(batch),
        "decided": len(verdicts),
        "seconds": round(seconds, 2),
        "agent_articles_per_s": round(agent_rate, 1),
        "engine_articles_per_cpu_s": round(engine_rate, 1),
        "ratio": round(agent_rate / engine_rate, 4) if engine_rate else None,
        "per_sequence": {
            s: sum(m["per_sequence"].get(s, 0) for m in by_mix.values())
            for s in sorted({s for m in by_mix.values() for s in m["per_sequence"]})
        },
        # Which newswire.dedup-answers partitions (sequences) each worker held at the end.
        "held": got.held,
        "each_worker_one_sequence": lay.workers == lay.sequences
        and sorted(got.held.values()) == [[s] for s in range(lay.sequences)],
        "rebalanced_while_timed": got.rebalanced,
        "mixes": by_mix,
        "verdicts": dict(Counter(verdicts.values())),
        "stories": len({str(r["story_id"]) for r in got.stories.values()}),
        **checked,
    }


def _split_cost(base: Measured, other: Measured) -> dict[str, int]:
    """What the split layout decided otherwise than the one-sequence run, same input."""
    ids = base.stories.keys() & other.stories.keys()
    verdict = sum(
        1
        for i in ids
        if (base.stories[i]["verdict"], base.stories[i]["duplicate_of"])
        != (other.stories[i]["verdict"], other.stories[i]["duplicate_of"])
    )

    # Stories compared as groupings (story ids are names, not the point).
    def groups(stories: dict[str, dict[str, Any]]) -> set[frozenset[str]]:
        by: dict[str, set[str]] = {}
        for i in ids:
            by.setdefault(str(stories[i]["story_id"]), set()).add(i)
        return {frozenset(g) for g in by.values()}

    one, two = groups(base.stories), groups(other.stories)
    return {
        "verdicts_differing": verdict,
        "stories_one_sequence": len(one),
        "stories_split": len(two),
        "stories_regrouped": len(one - two),
    }


def _median(values: list[float]) -> float:
    return round(float(statistics.median(values)), 2) if values else 0.0


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def report_layout(lay: Layout, r: dict[str, Any], n_round: int) -> None:
    """One configuration's figures on stderr, a line per mix."""
    for mix, m in r["mixes"].items():
        print(
            f"[round {n_round}] {lay.name} {mix}: {m['decided']}/{m['articles']} articles (per "
            f"sequence {m['per_sequence']}) in {m['seconds']:.1f} s: "
            f"{m['agent_articles_per_s']:.1f}/s, worker CPU {m['worker_cpu_ms_per_article']} "
            f"ms/article {m['worker_cpu_ms_per_article_each']}, broker "
            f"{m['broker_cpu_ms_per_article']} ms, {m['records_per_article_total']} "
            f"records/article, machine busy {m['machine_busy_cores']} cores (this process "
            f"{m['bench_process_cores']}; at that CPU per article its {os.cpu_count()} cores "
            f"allow {m['machine_limit_articles_per_s']}/s), load {m['load_average']}; the "
            f"engine alone {m['engine_articles_per_cpu_s']:.1f}/s of CPU",
            file=sys.stderr,
        )
    print(
        f"[round {n_round}] {lay.name}: held {r['held']}, verdicts_match {r['verdicts_match']} "
        f"({r['mismatches']} mismatches, {r['misplaced']} misplaced)",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/bench-dedup-agent.json"))
    parser.add_argument(
        "--workers", type=int, default=None, help="one configuration alone (with --sequences)"
    )
    parser.add_argument(
        "--sequences", type=int, default=None, help="one configuration alone (with --workers)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the configurations this many times, in alternating order (A B, B A, ...); "
        "rates are the medians",
    )
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    if args.workers is None and args.sequences is None:
        layouts = [layout(1, 1), layout(2, 2)]
    else:
        sequences = args.sequences or 1
        layouts = [layout(args.workers or sequences, sequences)]
    external = os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP")
    skipped: list[str] = []
    if external and len(layouts) > 1:
        # A cluster's topics fix the sequence count: one configuration per cluster.
        skipped = [lay.name for lay in layouts[1:]]
        layouts = layouts[:1]
        print(
            f"NEWSWIRE_KAFKA_BOOTSTRAP is set: only {layouts[0].name} runs on {external} "
            f"(the topics fix the sequence count); not run: {', '.join(skipped)}. Unset it "
            "for a fresh local broker per configuration.",
            file=sys.stderr,
        )

    run = uuid.uuid4().hex[:8]
    mixes = articles(args.datasets, run)
    batch = [a for mix in MIXES for a in mixes[mix]]
    warm = warm_up(run)
    by_id = {a.id: a for a in [*warm, *batch]}
    # The engine alone, per mix, in the order sent (one engine: the copies find their
    # originals as in the workers).
    deduper = Deduper(config=config_from(Settings(kafka_bootstrap="")))
    engine_cpu: dict[str, float] = {}
    engine_verdicts: dict[str, str] = {}
    for mix in MIXES:
        started_cpu = time.process_time()
        for a in mixes[mix]:
            engine_verdicts[a.id] = deduper.process(item_of(a), now=arrival(a)).verdict
        engine_cpu[mix] = time.process_time() - started_cpu

    results: dict[str, dict[str, Any]] = {}
    runs: dict[str, Measured] = {}
    rounds: dict[str, list[dict[str, Any]]] = {lay.name: [] for lay in layouts}
    for n_round in range(max(1, args.rounds)):
        # Alternating order: the machine's other load drifts, and neither configuration
        # should always run second.
        for lay in layouts if n_round % 2 == 0 else layouts[::-1]:
            load = round(os.getloadavg()[0], 2)
            got = run_layout(lay, mixes, warm, run, external, args.timeout)
            r = summarise(lay, got, mixes, engine_cpu, check(lay, got, by_id, run))
            r["load_average_at_start"] = load
            report_layout(lay, r, n_round)
            rounds[lay.name].append(
                {
                    "round": n_round,
                    "agent_articles_per_s": r["agent_articles_per_s"],
                    **{mix: r["mixes"][mix]["agent_articles_per_s"] for mix in MIXES},
                    "load_average_at_start": load,
                    "machine_busy_cores": {
                        mix: r["mixes"][mix]["machine_busy_cores"] for mix in MIXES
                    },
                    "held": r["held"],
                    "complete": r["decided"] == r["articles"],
                    "verdicts_match": r["verdicts_match"],
                    "mismatches": r["mismatches"],
                }
            )
            if lay.name not in results:
                results[lay.name], runs[lay.name] = r, got
    for name, done in rounds.items():
        # The first round's details; rates, checks and holdings over every round.
        results[name]["rounds"] = done
        results[name]["median_articles_per_s"] = _median([d["agent_articles_per_s"] for d in done])
        results[name]["verdicts_match"] = all(d["verdicts_match"] for d in done)
        results[name]["mismatches"] = sum(d["mismatches"] for d in done)

    first = results[layouts[0].name]
    speedup: float | None = None
    by_mix_speedup: dict[str, float | None] = {}
    per_round: list[float | None] = []
    split_cost: dict[str, int] | None = None
    if len(layouts) > 1:
        base, other = rounds[layouts[0].name], rounds[layouts[1].name]
        speedup = _ratio(
            _median([d["agent_articles_per_s"] for d in other]),
            _median([d["agent_articles_per_s"] for d in base]),
        )
        for mix in MIXES:
            by_mix_speedup[mix] = _ratio(
                _median([d[mix] for d in other]), _median([d[mix] for d in base])
            )
        per_round = [
            _ratio(b["agent_articles_per_s"], a["agent_articles_per_s"])
            for a, b in zip(base, other, strict=True)
        ]
        split_cost = _split_cost(runs[layouts[0].name], runs[layouts[1].name])
    all_match = all(r["verdicts_match"] for r in results.values())
    report = {
        # The first configuration's figures, under the keys runs before had.
        "articles": first["articles"],
        "decided": first["decided"],
        "workers": first["workers"],
        "seconds": first["seconds"],
        "agent_articles_per_s": first["agent_articles_per_s"],
        "engine_articles_per_cpu_s": first["engine_articles_per_cpu_s"],
        "ratio": first["ratio"],
        "mixes": first["mixes"],
        "verdicts": first["verdicts"],
        "engine_verdicts_file_order": dict(Counter(engine_verdicts.values())),
        "same_as_cluster": all_match,
        "verdicts_agree_with_engine_in_sequence_order": all_match,
        "verdicts_match": all_match,
        "disagreements": first["disagreements"],
        "configurations": results,
        "sequences_speedup": speedup,
        "sequences_speedup_by_mix": by_mix_speedup,
        "sequences_speedup_rounds": per_round,
        "sequences_speedup_target": SPEEDUP_TARGET,
        # What splitting scopes changed against one sequence on the same input.
        "split_cost": split_cost,
        "external_broker": bool(external),
        "not_run": skipped,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if speedup is not None:
        print(
            f"sequences_speedup {speedup} (target {SPEEDUP_TARGET}), by mix "
            f"{by_mix_speedup}, by round {per_round}; split cost {split_cost}",
            file=sys.stderr,
        )
    print(json.dumps(report))
    complete = all(d["complete"] for done in rounds.values() for d in done)
    return 0 if complete and all_match else 1


if __name__ == "__main__":
    raise SystemExit(main())
