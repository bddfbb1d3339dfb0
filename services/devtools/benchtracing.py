"""What tracing costs a stage per record: Stage.handle on a trivial function, with
tracing off (the default) against the same handling without the tracing check (what
handle did before traces), and with tracing on (spans to a file through the SDK's batch
processor). One JSON line: ns per record, best of `--repeat` runs of `--records`.

    python -m services.devtools.benchtracing [--records 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from services.common import tracing
from services.common.settings import Settings
from services.common.stage import Output, Source, Stage, article_key

SOURCE = Source("newswire.pages", 0, 1, b"0123456789abcdef", headers=[])
OUTPUT = Output("newswire.articles", b"0123456789abcdef", b"{}")


def one(_: bytes | None) -> list[Output]:
    return [OUTPUT]


async def per_record_ns(call: Callable[[], Awaitable[list[Output]]], records: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(records):
        await call()
    return (time.perf_counter_ns() - started) / records


async def measure(records: int, repeat: int) -> dict[str, float]:
    stage = Stage("cleaner")

    def untraced() -> Awaitable[list[Output]]:
        # Stage.handle's body as it was before traces: no check at all.
        return stage._handle(SOURCE, b"{}", one, article_key(SOURCE), offload=False, counted=True)

    def handled() -> Awaitable[list[Output]]:
        return stage.handle(SOURCE, b"{}", one)

    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, call in (("untraced", untraced), ("off", handled)):
            ns = await per_record_ns(call, records)
            best[name] = min(best.get(name, ns), ns)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(traces_file=str(Path(tmp) / "spans.jsonl"))
        tracing.configure("cleaner", settings, env={"OTEL_TRACES_EXPORTER": "none"})
        try:
            for _ in range(repeat):
                ns = await per_record_ns(handled, max(1, records // 10))
                best["on"] = min(best.get("on", ns), ns)
        finally:
            tracing.shutdown()
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    best = asyncio.run(measure(args.records, args.repeat))
    print(
        json.dumps(
            {
                "records": args.records,
                "untraced_ns_per_record": round(best["untraced"]),
                "off_ns_per_record": round(best["off"]),
                "off_overhead_ns": round(best["off"] - best["untraced"]),
                "on_ns_per_record": round(best["on"]),
            }
        )
    )


if __name__ == "__main__":
    main()
