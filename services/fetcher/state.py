"""Per-feed polling state, as stored in the fetcher's table (keyed by feed URL)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field

from services.common.models import utcnow


class FeedState(BaseModel):
    url: str
    partition: int
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: AwareDatetime = Field(default_factory=utcnow)
    last_polled_at: AwareDatetime | None = None
    error_count: int = 0
    last_error: str | None = None
    # Most recent last: ids of entries already emitted, bounded per feed.
    seen: list[str] = Field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.error_count > 0

    def remember(self, ids: list[str], bound: int) -> None:
        self.seen = (self.seen + ids)[-bound:]


def next_success_poll(
    now: datetime, interval_s: float, min_interval_s: float, ttl_s: int | None
) -> datetime:
    """After a good poll: the interval, stretched to the feed's <ttl>, never below the minimum."""
    wait = max(interval_s, float(ttl_s or 0)) if ttl_s else interval_s
    return now + timedelta(seconds=max(min_interval_s, wait))


def next_error_poll(
    now: datetime, errors: int, min_interval_s: float, max_interval_s: float
) -> datetime:
    """Exponential backoff with jitter, capped: a failing feed is retried forever, less often."""
    base = min(max_interval_s, min_interval_s * (2 ** min(errors - 1, 16)))
    return now + timedelta(seconds=base * random.uniform(0.8, 1.2))
