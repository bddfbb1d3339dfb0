"""Dedup through its Faust workers on a local broker, against the engine in one process.

    python -m services.devtools.benchdedupagent DATASETS_DIR --out results/bench-dedup-agent.json

DATASETS_DIR holds `ecbplus-dev/` (462 articles about 40 events: new articles and
stories) and `article-extraction-benchmark/` (181 gold bodies, each also sent as an
exact copy and as a near copy with a few words changed, under other ids and URLs):
about 1,000 enriched articles, each with the language the enricher would give it
(`services.common.language.detect` of the body). They go through in two mixes, one
after the other, each timed on its own:

* `new_heavy`: every ECB+ article and every benchmark body once (nearly all `new`);
* `duplicate_heavy`: the exact and the near copies of the bodies (all duplicates).

A local broker is started (or NEWSWIRE_KAFKA_BOOTSTRAP used), `--workers` dedup workers
are started and warmed up, each mix is produced to newswire.enriched and the clock runs
until each article has its story on newswire.stories. Per mix: articles/s through the
workers, the workers' CPU per article (and the local broker's), and the engine alone on
the same articles (`Deduper.process` in this process, CPU time). The top level is the
whole run, as before the mixes were split.

Correctness, in the same run: the articles in the order the workers' sequence holds
them are run through `newswire cluster`'s own code (`offline.cluster_lines` over JSON
lines); `same_as_cluster` is true when every article has the same verdict, story id,
original and version on newswire.stories as there.

The last line of stdout is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.structs import TopicPartition

from services.common.broker import start_broker
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
from services.dedup.engine import Deduper
from services.dedup.offline import cluster_lines
from services.dedup.pipeline import arrival, item_of
from services.devtools.stack import Stack

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SEED = 20261126


def _read_gold(folder: Path) -> dict[str, Any]:
    path = folder / "ground-truth.json"
    if not path.exists():
        path = folder / "ground-truth.json.gz"
        return dict(json.loads(gzip.decompress(path.read_bytes())))
    return dict(json.loads(path.read_text()))


MIXES = ("new_heavy", "duplicate_heavy")
# What the story records must agree on with `newswire cluster`.
COMPARED = ("verdict", "story_id", "duplicate_of", "version")


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
    return {
        mix: [_enriched(run, aid, title, text) for aid, title, text in chosen]
        for mix, chosen in zip(MIXES, (originals, copies), strict=True)
    }


def _enriched(run: str, aid: str, title: str | None, text: str) -> Enriched:
    return Enriched(
        id=f"{run}-{aid}",
        url=f"http://{aid.split('-')[0]}.example/{run}/{aid}",
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
            url=f"http://warm.example/{run}/{i}",
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


async def sequence_order(settings: Settings, starts: dict[int, int], ids: set[str]) -> list[str]:
    """Article ids in the order the workers' sequence holds them (its one partition),
    from `starts` until every one of `ids` is found (or the topic ends)."""
    topic = "newswire.dedup-sequence"
    cons = consumer(settings, group_id=None, auto_offset_reset="earliest")
    await cons.start()
    order: list[str] = []
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
            for records in batches.values():
                for rec in records:
                    key = (rec.key or b"").decode()
                    order.append(key)
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
            "entities": [e.text for e in article.entities] or None,
        }
    )


def cluster_run(items: list[Enriched]) -> dict[str, dict[str, Any]]:
    """What `newswire cluster` says of `items` in this order, by article id."""
    rows = cluster_lines((cluster_json(a) for a in items), config_from(Settings()))
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


def _per_article_ms(seconds: float, n: int) -> float | None:
    return round(seconds / n * 1000, 2) if n else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/bench-dedup-agent.json"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    run = uuid.uuid4().hex[:8]
    mixes = articles(args.datasets, run)
    batch = [a for mix in MIXES for a in mixes[mix]]
    external = os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP")
    broker = None if external else start_broker()
    bootstrap = external or (broker.bootstrap if broker else "")
    settings = Settings(kafka_bootstrap=bootstrap)
    # The engine alone, per mix, in the order sent (one engine: the copies find their
    # originals as in the workers).
    deduper = Deduper(config=config_from(settings))
    engine_cpu: dict[str, float] = {}
    engine_verdicts: dict[str, str] = {}
    for mix in MIXES:
        started_cpu = time.process_time()
        for a in mixes[mix]:
            engine_verdicts[a.id] = deduper.process(item_of(a), now=arrival(a)).verdict
        engine_cpu[mix] = time.process_time() - started_cpu
    run_dir = Path(tempfile.mkdtemp(prefix="newswire-bench-dedup-"))
    stack = Stack(bootstrap, seeds_url="http://127.0.0.1:9", run_dir=run_dir)
    stories: dict[str, dict[str, Any]] = {}
    measured: dict[str, dict[str, float]] = {}
    written: dict[str, dict[str, float]] = {}
    try:
        asyncio.run(ensure_topics(settings))
        starts = asyncio.run(end_offsets(settings, "newswire.dedup-sequence"))
        for i in range(args.workers):
            stack.start_service("dedup", {"NEWSWIRE_DATA_DIR": str(run_dir / f"w{i}")})
            stack.procs[f"dedup-{i}"] = stack.procs.pop("dedup")
        workers = [p.popen.pid for p in stack.procs.values()]
        brokers = [broker.pid] if broker is not None else []
        # Warm-up: group joined, tables recovered, models loaded; texts of their own.
        warm = warm_up(run)
        asyncio.run(produce(settings, warm))
        asyncio.run(collect(settings, f"warm{run}-", len(warm), args.timeout))
        for mix in MIXES:
            records_before = asyncio.run(record_counts(settings))
            cpu_before, broker_before = _cpu_of(workers), _cpu_of(brokers)
            started = time.monotonic()
            asyncio.run(produce(settings, mixes[mix]))
            ids = {a.id for a in mixes[mix]}
            got = asyncio.run(collect(settings, f"{run}-", len(stories) + len(ids), args.timeout))
            measured[mix] = {
                "seconds": time.monotonic() - started,
                "decided": sum(1 for i in got if i in ids),
                "worker_cpu": _cpu_of(workers) - cpu_before,
                "broker_cpu": _cpu_of(brokers) - broker_before,
            }
            # Counted once the mix is decided; changelog writes of its last decisions
            # may still be on their way (a handful of records).
            written[mix] = _records_per_article(
                records_before, asyncio.run(record_counts(settings)), len(ids)
            )
            stories.update(got)
        # Warm-up articles included: they are in the workers' state too.
        order = asyncio.run(sequence_order(settings, starts, {a.id for a in [*warm, *batch]}))
    finally:
        stack.stop()
        if broker is not None:
            broker.stop()
    # The same articles in the order the workers decided them, through `newswire
    # cluster`'s code: every verdict and story id must agree.
    by_id = {a.id: a for a in [*warm, *batch]}
    in_order = [by_id[i] for i in dict.fromkeys(order) if i in by_id]
    offline = {i: r for i, r in cluster_run(in_order).items() if i.startswith(f"{run}-")}
    disagree = sorted(i for i, r in offline.items() if stories.get(i) != r)
    same = not disagree and len(offline) == len(batch)
    verdicts = {i: str(r["verdict"]) for i, r in stories.items()}
    seconds = sum(m["seconds"] for m in measured.values())
    agent_rate = len(verdicts) / seconds if seconds else 0.0
    engine_total = sum(engine_cpu.values())
    engine_rate = len(batch) / engine_total if engine_total else 0.0
    by_mix: dict[str, Any] = {}
    for mix in MIXES:
        m, n = measured.get(mix, {}), len(mixes[mix])
        rate = m["decided"] / m["seconds"] if m.get("seconds") else 0.0
        engine_mix = n / engine_cpu[mix] if engine_cpu[mix] else 0.0
        mix_verdicts = Counter(verdicts[a.id] for a in mixes[mix] if a.id in verdicts)
        by_mix[mix] = {
            "articles": n,
            "decided": int(m.get("decided", 0)),
            "seconds": round(m.get("seconds", 0.0), 2),
            "agent_articles_per_s": round(rate, 1),
            "engine_articles_per_cpu_s": round(engine_mix, 1),
            "ratio": round(rate / engine_mix, 4) if engine_mix else None,
            "worker_cpu_ms_per_article": _per_article_ms(m.get("worker_cpu", 0.0), n),
            "broker_cpu_ms_per_article": _per_article_ms(m.get("broker_cpu", 0.0), n)
            if broker is not None
            else None,
            "engine_cpu_ms_per_article": _per_article_ms(engine_cpu[mix], n),
            # Where the broker's work comes from: records per article by topic.
            "records_per_article": written.get(mix, {}),
            "records_per_article_total": round(sum(written.get(mix, {}).values()), 1),
            "verdicts": dict(mix_verdicts),
            "new_share": round(mix_verdicts.get("new", 0) / max(1, sum(mix_verdicts.values())), 3),
        }
    report = {
        "articles": len(batch),
        "decided": len(verdicts),
        "workers": args.workers,
        "seconds": round(seconds, 2),
        "agent_articles_per_s": round(agent_rate, 1),
        "engine_articles_per_cpu_s": round(engine_rate, 1),
        "ratio": round(agent_rate / engine_rate, 4) if engine_rate else None,
        "mixes": by_mix,
        "verdicts": dict(Counter(verdicts.values())),
        "engine_verdicts_file_order": dict(Counter(engine_verdicts.values())),
        "same_as_cluster": same,
        "verdicts_agree_with_engine_in_sequence_order": same,
        "disagreements": disagree[:20],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for mix, m in by_mix.items():
        print(
            f"{mix}: {m['decided']}/{m['articles']} articles through {args.workers} dedup "
            f"worker(s) in {m['seconds']:.1f} s: {m['agent_articles_per_s']:.1f}/s, worker CPU "
            f"{m['worker_cpu_ms_per_article']} ms/article, {m['records_per_article_total']} "
            f"records/article; the engine alone "
            f"{m['engine_articles_per_cpu_s']:.1f}/s of CPU",
            file=sys.stderr,
        )
    print(json.dumps(report))
    return 0 if len(verdicts) == len(batch) and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
