"""Dedup through its Faust workers on a local broker, against the engine in one process.

    python -m services.devtools.benchdedupagent DATASETS_DIR --out results/bench-dedup-agent.json

DATASETS_DIR holds `ecbplus-dev/` (462 articles about 40 events: new articles and
stories) and `article-extraction-benchmark/` (181 gold bodies, each also sent as an
exact copy and as a near copy with a few words changed, under other ids and URLs):
about 1,000 enriched articles in a seeded order. A local broker is started (or
NEWSWIRE_KAFKA_BOOTSTRAP used), `--workers` dedup workers are started and warmed up,
the articles are produced to newswire.enriched and the clock runs until each has its
story on newswire.stories. The baseline, measured in the same run, is the same
articles through `Deduper.process` in this process (the code `newswire cluster`
runs): `ratio` is the workers' articles/s over the engine's (CPU) articles/s, i.e. what
the hops, the broker and the changelogs cost. The verdicts of both are compared.

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

from services.common.broker import start_broker
from services.common.kafka import consumer, ensure_topics, producer
from services.common.models import Enriched, Trace, encode
from services.common.settings import Settings
from services.dedup.config import config_from
from services.dedup.engine import Deduper
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


def articles(datasets: Path, run: str) -> list[Enriched]:
    rng = random.Random(SEED)
    out: list[tuple[str, str | None, str]] = []
    for line in (datasets / "ecbplus-dev" / "articles.jsonl").read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            out.append((f"ecb-{rec['id']}", rec.get("title"), rec["text"]))
    gold = _read_gold(datasets / "article-extraction-benchmark")
    for key, value in sorted(gold.items()):
        body = str(value.get("articleBody") or "")
        if len(body.split()) < 30:
            continue
        words = body.split()
        for i in sorted(rng.sample(range(len(words)), 3)):
            words[i] = f"changed{i}"
        out += [(f"aeb-{key}", None, body), (f"copy-{key}", None, body)]
        out.append((f"near-{key}", None, " ".join(words)))
    rng.shuffle(out)
    return [
        Enriched(
            id=f"{run}-{aid}",
            url=f"http://{aid.split('-')[0]}.example/{run}/{aid}",
            title=title,
            text=text,
            paragraphs=[p for p in text.split("\n") if p.strip()] or [text],
            trace=Trace(fetched_at=FETCHED),
        )
        for aid, title, text in out
    ]


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


async def collect(settings: Settings, prefix: str, n: int, timeout: float) -> dict[str, str]:
    """Verdicts by article id of the first `n` distinct articles whose id starts `prefix`."""
    cons = consumer(settings, "newswire.stories", group_id=None, auto_offset_reset="earliest")
    await cons.start()
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < n and time.monotonic() < deadline:
            batches = await cons.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for rec in records:
                    value = json.loads(rec.value or b"{}")
                    aid = str(value.get("article_id", ""))
                    if aid.startswith(prefix):
                        seen.setdefault(aid, str(value.get("verdict")))
    finally:
        await cons.stop()
    return seen


async def sequence_order(settings: Settings, prefix: str, n: int) -> list[str]:
    """Article ids in the order the workers' sequence holds them (its one partition)."""
    cons = consumer(
        settings, "newswire.dedup-sequence", group_id=None, auto_offset_reset="earliest"
    )
    await cons.start()
    order: list[str] = []
    try:
        while len(order) < n:
            batches = await cons.getmany(timeout_ms=2000, max_records=5000)
            if not batches:
                break
            for records in batches.values():
                for rec in records:
                    key = (rec.key or b"").decode()
                    if key.startswith(prefix):
                        order.append(key)
    finally:
        await cons.stop()
    return order


def engine_run(items: list[Enriched], settings: Settings) -> tuple[float, dict[str, str]]:
    deduper = Deduper(config=config_from(settings))
    started = time.process_time()
    verdicts: dict[str, str] = {
        a.id: deduper.process(item_of(a), now=arrival(a)).verdict for a in items
    }
    return time.process_time() - started, verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/bench-dedup-agent.json"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)

    run = uuid.uuid4().hex[:8]
    batch = articles(args.datasets, run)
    external = os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP")
    broker = None if external else start_broker()
    bootstrap = external or (broker.bootstrap if broker else "")
    settings = Settings(kafka_bootstrap=bootstrap)
    engine_cpu, engine_verdicts = engine_run(batch, settings)
    run_dir = Path(tempfile.mkdtemp(prefix="newswire-bench-dedup-"))
    stack = Stack(bootstrap, seeds_url="http://127.0.0.1:9", run_dir=run_dir)
    try:
        asyncio.run(ensure_topics(settings))
        for i in range(args.workers):
            stack.start_service("dedup", {"NEWSWIRE_DATA_DIR": str(run_dir / f"w{i}")})
            stack.procs[f"dedup-{i}"] = stack.procs.pop("dedup")
        # Warm-up: group joined, tables recovered, models loaded; texts of their own.
        warm = warm_up(run)
        asyncio.run(produce(settings, warm))
        asyncio.run(collect(settings, f"warm{run}-", len(warm), args.timeout))
        started = time.monotonic()
        asyncio.run(produce(settings, batch))
        verdicts = asyncio.run(collect(settings, f"{run}-", len(batch), args.timeout))
        seconds = time.monotonic() - started
        # Warm-up articles included: they are in the workers' state too.
        order = asyncio.run(sequence_order(settings, "", len(batch) + len(warm)))
    finally:
        stack.stop()
        if broker is not None:
            broker.stop()
    # The same articles in the order the workers decided them: every verdict must agree.
    by_id = {a.id: a for a in [*warm, *batch]}
    _, in_order = engine_run([by_id[i] for i in dict.fromkeys(order) if i in by_id], settings)
    in_order = {i: v for i, v in in_order.items() if i.startswith(f"{run}-")}
    disagree = sorted(i for i, v in in_order.items() if verdicts.get(i) != v)
    agent_rate = len(verdicts) / seconds if seconds else 0.0
    engine_rate = len(batch) / engine_cpu if engine_cpu else 0.0
    report = {
        "articles": len(batch),
        "decided": len(verdicts),
        "workers": args.workers,
        "seconds": round(seconds, 2),
        "agent_articles_per_s": round(agent_rate, 1),
        "engine_articles_per_cpu_s": round(engine_rate, 1),
        "ratio": round(agent_rate / engine_rate, 4) if engine_rate else None,
        "verdicts": dict(Counter(verdicts.values())),
        "engine_verdicts_file_order": dict(Counter(engine_verdicts.values())),
        "verdicts_agree_with_engine_in_sequence_order": not disagree
        and len(in_order) == len(batch),
        "disagreements": disagree[:20],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{len(verdicts)}/{len(batch)} articles through {args.workers} dedup worker(s) in "
        f"{seconds:.1f} s: {agent_rate:.1f}/s; the engine alone {engine_rate:.1f}/s of CPU",
        file=sys.stderr,
    )
    print(json.dumps(report))
    return 0 if len(verdicts) == len(batch) and not disagree else 1


if __name__ == "__main__":
    raise SystemExit(main())
