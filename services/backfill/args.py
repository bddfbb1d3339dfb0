"""`newswire backfill`'s arguments (kept apart so building the CLI's parser imports
neither Kafka nor the WARC readers)."""

from __future__ import annotations

import argparse

from services.backfill.display import add_json_option


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", help="WARC/ARC files (plain or .gz), folders or globs")
    add_json_option(p)
    p.add_argument(
        "--max-records-per-s",
        type=float,
        default=None,
        help="records sent per second at most (default NEWSWIRE_BACKFILL_MAX_RECORDS_PER_S; 0: "
        "unbounded)",
    )
