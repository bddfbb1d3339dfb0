"""`make bench-backfill`: records/s of `newswire backfill` into a real broker, against a
bare loop that only reads the same WARC with the same library (fastwarc, every payload
read, encodings undone as the backfill does), in the same run; target 0.8x.

The WARC is written from a folder of HTML pages (article-extraction-benchmark's `html/`,
`.html` or `.html.gz`), each page `--repeat` times under its own URL, gzip per record
(CC-NEWS's layout). Each pass writes a WARC of its own (other URLs, so other content and
another file key: the backfill would otherwise find the file done), reads it bare, then
backfills it with no rate bound. The best pass of each counts. Writes the report to
`--out` and ends with one JSON line.

Two reference lines, same pass, same WARC, to say where the time goes:
`build_records_per_s`, the backfill's reading and building alone (every record made as
it is sent, JSON-encoded, nothing sent), and `produce_records_per_s`, the records alone:
the same prebuilt records sent with the backfill's producer settings (zstd, acks=all)
and acknowledged, nothing read. Backfill cannot beat the slower of the two; against the
bare read, `produce_ratio` is the most it could reach if reading and building were free.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

from fastwarc.warc import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from services.backfill.records import prepare
from services.backfill.run import BATCH_BYTES, backfill
from services.backfill.warc import read_captures
from services.common.kafka import partitions_of, producer
from services.common.settings import PROJECT_ROOT, Settings, load_settings
from services.common.stage import RECORD_OVERHEAD, Output
from services.common.topics import PAGES

DEFAULT_DATASET = PROJECT_ROOT.parent / "shared" / "datasets" / "article-extraction-benchmark"
TARGET = 0.8


def load_pages(dataset: Path) -> list[tuple[str, bytes]]:
    html = dataset / "html" if (dataset / "html").is_dir() else dataset
    truth_file = dataset / "ground-truth.json"
    truth = json.loads(truth_file.read_text()) if truth_file.exists() else {}
    pages = []
    for path in sorted(html.rglob("*")):
        if path.name.endswith(".html.gz"):
            body, name = gzip.decompress(path.read_bytes()), path.name[: -len(".html.gz")]
        elif path.name.endswith(".html"):
            body, name = path.read_bytes(), path.name[: -len(".html")]
        else:
            continue
        url = (truth.get(name) or {}).get("url") or f"https://bench.test/{name}"
        pages.append((url, body))
    return pages


def write_warc(path: Path, pages: list[tuple[str, bytes]], repeat: int, tag: str) -> int:
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for rep in range(repeat):
            for url, body in pages:
                sep = "&" if "?" in url else "?"
                headers = [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                ]
                record = writer.create_warc_record(
                    f"{url}{sep}nwbench={tag}-{rep}",
                    "response",
                    payload=io.BytesIO(body),
                    http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                )
                writer.write_record(record)
    return repeat * len(pages)


def bare_read(path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    n = 0
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh, parse_http=True, auto_decode="all"):
            record.reader.read()
            n += 1
    return n, time.perf_counter() - start


def build_only(
    path: Path, settings: Settings, partitions: int, *, keep: bool
) -> tuple[list[Output], float]:
    """The backfill's records of `path` (reading and building, nothing sent), kept when
    `keep` (not when timed: holding them all costs memory the backfill never holds), and
    the seconds it took."""
    max_record_bytes = settings.kafka.max_message_bytes - RECORD_OVERHEAD
    start = time.perf_counter()
    outs = []
    for capture in read_captures(path, max_body_bytes=settings.fetcher.max_bytes):
        item = prepare(capture, path, partitions, max_record_bytes)
        if keep and item.out is not None:
            outs.append(item.out)
    return outs, time.perf_counter() - start


async def produce_only(settings: Settings, outs: list[Output]) -> tuple[float, float]:
    """Seconds (wall, CPU of this process) to send prebuilt records with the backfill's
    producer settings, every acknowledgement awaited at the end."""
    prod = producer(settings, linger_ms=10, max_batch_size=BATCH_BYTES)
    await prod.start()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        pending = [
            await prod.send(o.topic, o.value, key=o.key, partition=o.partition) for o in outs
        ]
        await asyncio.gather(*pending)
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        await prod.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchbackfill", description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, nargs="?", default=DEFAULT_DATASET)
    parser.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "results" / "bench-backfill.json"
    )
    parser.add_argument("--repeat", type=int, default=5, help="each page this many times")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / ".cache" / "bench-backfill")
    args = parser.parse_args(argv)
    pages = load_pages(args.dataset)
    if not pages:
        parser.error(f"no .html or .html.gz pages under {args.dataset}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    broker = None
    if not settings.kafka.bootstrap:
        from services.devtools.broker import start_broker

        broker = start_broker()
        settings = settings.replace(kafka_bootstrap=broker.bootstrap)
    passes = []
    try:
        for n in range(max(1, args.passes)):
            warc = args.workdir / f"bench-{os.getpid()}-{n}.warc.gz"
            records = write_warc(warc, pages, args.repeat, f"{os.getpid()}-{n}-{time.time_ns()}")
            read, bare_s = bare_read(warc)
            cpu0 = time.process_time()
            tally, backfill_s = asyncio.run(
                backfill([warc], settings, out=io.StringIO(), tty=False, max_records_per_s=0)
            )
            cpu = time.process_time() - cpu0
            partitions = len(asyncio.run(partitions_of(settings, PAGES.name)))
            _, build_s = build_only(warc, settings, partitions, keep=False)
            outs, _ = build_only(warc, settings, partitions, keep=True)
            produce_s, produce_cpu = asyncio.run(produce_only(settings, outs))
            passes.append(
                {
                    "records": records,
                    "warc_bytes": warc.stat().st_size,
                    "bare_records_per_s": round(read / bare_s, 1),
                    "backfill_records_per_s": round(tally.records / backfill_s, 1),
                    "backfill_pages": tally.pages,
                    "backfill_cpu_ms_per_record": round(1000 * cpu / max(1, tally.records), 2),
                    "build_records_per_s": round(read / build_s, 1),
                    "produce_records_per_s": round(len(outs) / produce_s, 1),
                    "produce_cpu_ms_per_record": round(1000 * produce_cpu / max(1, len(outs)), 2),
                }
            )
            warc.unlink()
    finally:
        if broker is not None:
            broker.stop()
    bare = max(p["bare_records_per_s"] for p in passes)
    ours = max(p["backfill_records_per_s"] for p in passes)
    produce = max(p["produce_records_per_s"] for p in passes)
    headline = {
        "records": passes[0]["records"],
        "bare_records_per_s": bare,
        "backfill_records_per_s": ours,
        "ratio": round(ours / bare, 3),
        "build_records_per_s": max(p["build_records_per_s"] for p in passes),
        "produce_records_per_s": produce,
        "produce_ratio": round(produce / bare, 3),
        "target": TARGET,
        "meets_target": ours / bare >= TARGET,
    }
    report = {
        "headline": headline,
        "passes": passes,
        "setup": {
            "dataset": str(args.dataset),
            "pages": len(pages),
            "repeat": args.repeat,
            "library": "fastwarc",
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    for p in passes:
        print(
            f"  pass: {p['records']} records, bare {p['bare_records_per_s']}/s, backfill "
            f"{p['backfill_records_per_s']}/s ({p['backfill_cpu_ms_per_record']} ms CPU/record); "
            f"build only {p['build_records_per_s']}/s, produce only "
            f"{p['produce_records_per_s']}/s ({p['produce_cpu_ms_per_record']} ms CPU/record)"
        )
    print(json.dumps(headline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
