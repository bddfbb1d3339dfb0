"""The dedup engine alone on bench-dedup-agent's articles, without a broker.

    python -m services.devtools.benchdedupengine DATASETS_DIR --rounds 5

The same figure as bench-dedup-agent's `engine_articles_per_cpu_s` per mix, computed the
same way: one fresh `Deduper` in this process takes the new-heavy mix, then the
duplicate-heavy one (so the copies find their originals), each timed in CPU seconds
(`time.process_time`). Each round runs in a fresh process, as the agent bench's does:
the engine's caches and the word-frequency lists start cold.

`--warm` loads the word-frequency lists of the articles' languages before the clock
starts (a running worker has them loaded; the agent bench counts their loading, ~0.2 CPU
seconds, in its new-heavy mix).

The last line of stdout is one JSON object: the median and every round's articles per
CPU second, per mix.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from services.common.settings import Settings
from services.dedup.config import config_from
from services.dedup.engine import Deduper
from services.dedup.idf import background_idf
from services.dedup.pipeline import item_of
from services.devtools.benchdedupagent import FETCHED, MIXES, articles


def one_round(datasets: Path, warm: bool) -> dict[str, float]:
    """Articles per CPU second per mix, in this process."""
    mixes = {
        mix: [item_of(a) for a in batch] for mix, batch in articles(datasets, "engine").items()
    }
    if warm:
        for batch in mixes.values():
            for item in batch:
                background_idf(item.language)
    deduper = Deduper(config=config_from(Settings(kafka_bootstrap="")))
    rates: dict[str, float] = {}
    for mix in MIXES:
        started = time.process_time()
        for item in mixes[mix]:
            # The fetch time (the agent bench's `arrival`, fixed: no clock in the way).
            deduper.process(item, now=FETCHED)
        rates[mix] = round(len(mixes[mix]) / (time.process_time() - started), 1)
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", action="store_true", help="word lists loaded before timing")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a round
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one_round(args.datasets, args.warm)))
        return 0
    rounds = []
    for _ in range(max(1, args.rounds)):
        command = [sys.executable, "-m", __spec__.name if __spec__ else __name__, "--one"]
        command += [str(args.datasets), *(["--warm"] if args.warm else [])]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        rounds.append(json.loads(done.stdout.splitlines()[-1]))
        print(rounds[-1], file=sys.stderr)
    summary = {
        mix: {
            "median": statistics.median(r[mix] for r in rounds),
            "rounds": [r[mix] for r in rounds],
        }
        for mix in MIXES
    }
    print(json.dumps({"engine_articles_per_cpu_s": summary, "warm": args.warm}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
