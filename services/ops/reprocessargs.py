"""`newswire reprocess`'s arguments (kept apart so building the CLI's parser imports
neither Kafka nor a stage's code)."""

from __future__ import annotations

import argparse

from services.backfill.display import add_json_option


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stage",
        required=True,
        choices=["cleaner", "enricher"],
        help="cleaner: newswire.pages -> newswire.articles; enricher: newswire.articles -> "
        "newswire.enriched",
    )
    p.add_argument(
        "--since",
        required=True,
        metavar="TIME",
        help="records the broker stamped at or after TIME: ISO (UTC unless it says) or a "
        "span back from now (90m, 6h, 2d, 1w)",
    )
    p.add_argument("--until", metavar="TIME", help="and before TIME (default: up to now)")
    p.add_argument("--limit", type=int, default=None, help="process at most N records")
    p.add_argument(
        "--dry-run", action="store_true", help="say which offsets would be read; send nothing"
    )
    add_json_option(p)
