"""What the fetcher's feed polls take from the settings, frozen, built in one place.

The agent and the tools (`make check-feeds`, `make bench-fetcher`) build this with
`config_from`; `pipeline.plan_poll` reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.models import FeedPages
from services.common.settings import Settings
from services.fetcher.net.caching import conditional_headers
from services.fetcher.state.feedstate import FeedState


@dataclass(frozen=True)
class PollConfig:
    # Validators (ETag, Last-Modified) are dropped after this many 304s in a row, or
    # once older than this (a server with a bogus validator answers 304 forever).
    max_not_modified_streak: int = 48
    max_validator_age_hours: float = 24.0
    # A feed is polled as often as it publishes, within these bounds.
    min_interval_s: float = 300.0
    max_interval_s: float = 6 * 3600.0
    # Entry ids remembered per feed (so an entry is emitted once).
    seen_entries: int = 2000
    # The pages mode of a feed that sets none, and how much of an entry's content is kept.
    pages: FeedPages = "always"
    content_max_bytes: int = 256 * 1024

    def validators(self, state: FeedState, now: datetime) -> tuple[str | None, str | None]:
        """The validators a poll of `state` sends at `now` (net/caching.py)."""
        return conditional_headers(
            state,
            now,
            max_streak=self.max_not_modified_streak,
            max_age_hours=self.max_validator_age_hours,
        )


def config_from(settings: Settings) -> PollConfig:
    return PollConfig(
        max_not_modified_streak=settings.fetcher.max_not_modified_streak,
        max_validator_age_hours=settings.fetcher.max_validator_age_hours,
        min_interval_s=settings.fetcher.poll_min_interval_seconds,
        max_interval_s=settings.fetcher.poll_max_interval_seconds,
        seen_entries=settings.fetcher.seen_entries_per_feed,
        pages=settings.fetcher.feed_pages,
        content_max_bytes=settings.fetcher.feed_content_max_bytes,
    )
