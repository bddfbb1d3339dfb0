"""`newswire backfill`'s arguments (kept apart so building the CLI's parser imports
neither Kafka nor the WARC readers)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", help="WARC/ARC files (plain or .gz), folders or globs")
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the counts as JSON to FILE (or as the last line of output)",
    )
    p.add_argument(
        "--max-records-per-s",
        type=float,
        default=None,
        help="records sent per second at most (default NEWSWIRE_BACKFILL_MAX_RECORDS_PER_S; 0: "
        "unbounded)",
    )
