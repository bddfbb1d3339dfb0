"""The feed list: the bootstrap file and the newswire.feeds topic."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import yaml

from services.common.errors import ConfigError
from services.common.models import FeedPages, FeedRecord

FEED_PAGES: tuple[str, ...] = get_args(FeedPages)

SEEDS_TOKEN = "${SEEDS_URL}"


def load_feeds_file(path: Path, seeds_url: str) -> list[FeedRecord]:
    """Read feeds.yaml: `feeds: [{url, title?, tags?, pages?}]` (pages: auto, always or
    never; absent: NEWSWIRE_FEED_PAGES); `${SEEDS_URL}` expands to seeds_url."""
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read feeds file {path}: {exc}") from exc
    items = (doc or {}).get("feeds") or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: 'feeds' must be a list")
    records = []
    for item in items:
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict) or not item.get("url"):
            raise ConfigError(f"{path}: each feed needs a url, got {item!r}")
        url = str(item["url"]).replace(SEEDS_TOKEN, seeds_url.rstrip("/"))
        pages = item.get("pages")
        if pages is not None and pages not in FEED_PAGES:
            raise ConfigError(f"{path}: pages of {url} must be one of {FEED_PAGES}, got {pages!r}")
        records.append(
            FeedRecord(
                url=url, title=item.get("title"), tags=list(item.get("tags") or []), pages=pages
            )
        )
    return records
