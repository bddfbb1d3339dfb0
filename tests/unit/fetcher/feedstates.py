"""Feed states the fetcher's tests build (stored-state round trips, the hot path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.fetcher.state.feedstate import FeedState

THEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def feed_state(seen: list[str], title: str | None = None, times: int = 2) -> FeedState:
    return FeedState(
        url="https://news.example/feed.xml",
        partition=1,
        title=title,
        etag='"abc"',
        validators_at=THEN,
        next_poll_at=THEN,
        entry_times=[THEN - timedelta(hours=h) for h in range(times)],
        seen=seen,
    )


def big_seen(n: int = 400) -> list[str]:
    return [f"https://news.example/{i}/story.html" for i in range(n)]
