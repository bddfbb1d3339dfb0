"""Process-wide logging: one line per event, level from settings."""

from __future__ import annotations

import logging

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=LEVELS.get(level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka is chatty about routine rebalances at INFO.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
