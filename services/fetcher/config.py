"""What the fetcher's feed polls take from the settings, frozen, built in one place.

The agent and the tools (`make check-feeds`, `make bench-fetcher`) build this with
`config_from`; `pipeline.plan_poll` reads nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.common.models import FeedPages
from services.common.settings import Settings
from services.fetcher.net.caching import conditional_headers
from services.fetcher.state.feedstate import FeedState

# The validators (ETag, Last-Modified) a poll sends for a feed's state, at a time.
Validators = Callable[[FeedState, datetime], tuple[str | None, str | None]]


@dataclass(frozen=True)
class PollConfig:
    validators: Validators
    # A feed is polled as often as it publishes, within these bounds.
    min_interval_s: float = 300.0
    max_interval_s: float = 6 * 3600.0
    # Entry ids remembered per feed (so an entry is emitted once).
    seen_entries: int = 2000
    # The pages mode of a feed that sets none, and how much of an entry's content is kept.
    pages: FeedPages = "always"
    content_max_bytes: int = 256 * 1024


def config_from(settings: Settings) -> PollConfig:
    return PollConfig(
        # conditional_headers (net/caching.py) reads its two bounds from the settings.
        validators=partial(conditional_headers, settings=settings),
        min_interval_s=settings.poll_min_interval_seconds,
        max_interval_s=settings.poll_max_interval_seconds,
        seen_entries=settings.seen_entries_per_feed,
        pages=settings.feed_pages,
        content_max_bytes=settings.feed_content_max_bytes,
    )
