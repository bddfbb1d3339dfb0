"""Every dedup `Result` on the bench inputs, written out to compare two versions of the engine.

    python -m services.devtools.dedupsame DATASETS_DIR --out /tmp/results-after.jsonl
    python -m services.devtools.dedupsame --compare /tmp/before.jsonl /tmp/after.jsonl

A speed-up of the engine must not change any decision. This runs the engine
(`Deduper.process`, one engine per input, in order) over the inputs the dedup benches
use and writes one JSON line per article: its full `Result` (verdict, story id,
original, version, similarity, containment, match, hashes), then one line per input
with a SHA-256 of each store's final contents (what the changelogs would hold). Run it
with PYTHONPATH on each version's tree and compare the two files:

* `agent`: bench-dedup-agent's ~1,000 articles (new-heavy mix, then duplicate-heavy),
  with the language the enricher gives them;
* `agent-no-language`: the same without it (the engine detects it);
* `bench-dedup`: bench-dedup's 20,000 perturbed benchmark bodies, with language.

`--compare` prints the first differing lines and exits 1 when the files differ.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from services.common.language import detect
from services.common.settings import Settings
from services.dedup.config import config_from
from services.dedup.engine import Deduper, Item
from services.dedup.pipeline import item_of
from services.devtools.benchdedup import load_texts, perturbed
from services.devtools.benchdedupagent import FETCHED, MIXES, articles

RUN = "same"  # a fixed run id: the article ids and URLs are the same in every run
INPUTS = ("agent", "agent-no-language", "bench-dedup")


def agent_items(datasets: Path) -> list[tuple[Item, datetime]]:
    mixes = articles(datasets, RUN)
    # The fetch time, not `pipeline.arrival` (which takes the clock when it is earlier).
    return [(item_of(a), a.trace.fetched_at or FETCHED) for mix in MIXES for a in mixes[mix]]


def bench_items(datasets: Path, count: int) -> list[tuple[Item, datetime | None]]:
    texts = perturbed(load_texts(datasets / "article-extraction-benchmark"), count)
    return [(Item(id=f"a{i}", text=t, language=detect(t)[0]), None) for i, t in enumerate(texts)]


def store_digests(deduper: Deduper) -> dict[str, str]:
    out = {}
    for field in dataclasses.fields(deduper.stores):
        store = getattr(deduper.stores, field.name)
        h = hashlib.sha256()
        for key in sorted(store):
            value = store[key]
            h.update(key.encode() + b"\0")
            h.update(value if isinstance(value, bytes) else value.encode())
            h.update(b"\n")
        out[field.name] = h.hexdigest()
    return out


def rows(name: str, items: list[tuple[Item, datetime | None]]) -> Iterator[dict[str, Any]]:
    deduper = Deduper(config=config_from(Settings(kafka_bootstrap="")))
    for item, now in items:
        yield {"input": name, "result": deduper.process(item, now).to_json()}
    yield {"input": name, "stores": store_digests(deduper)}


def compare(a: Path, b: Path, shown: int = 10) -> int:
    left = a.read_text(encoding="utf-8").splitlines()
    right = b.read_text(encoding="utf-8").splitlines()
    differing = [
        (i, x, y) for i, (x, y) in enumerate(zip(left, right, strict=False), start=1) if x != y
    ]
    for i, x, y in differing[:shown]:
        print(f"line {i}:\n  - {x}\n  + {y}")
    if len(left) != len(right):
        print(f"{a} has {len(left)} lines, {b} has {len(right)}")
    same = not differing and len(left) == len(right)
    print(f"{len(left)} lines; {'identical' if same else f'{len(differing)} differ'}")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=Path, nargs="?")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--articles", type=int, default=20000, help="bench-dedup's articles")
    parser.add_argument("--inputs", default=",".join(INPUTS))
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.datasets is None or args.out is None:
        parser.error("DATASETS_DIR and --out are needed unless --compare")
    chosen = args.inputs.split(",")
    with args.out.open("w", encoding="utf-8") as out:
        for name in chosen:
            if name == "agent":
                items: list[tuple[Item, datetime | None]] = list(agent_items(args.datasets))
            elif name == "agent-no-language":
                items = [
                    (dataclasses.replace(i, language=None), t)
                    for i, t in agent_items(args.datasets)
                ]
            elif name == "bench-dedup":
                items = bench_items(args.datasets, args.articles)
            else:
                parser.error(f"unknown input {name!r}: one of {', '.join(INPUTS)}")
            for row in rows(name, items):
                out.write(json.dumps(row, sort_keys=True) + "\n")
            print(f"{name}: {len(items)} articles", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
