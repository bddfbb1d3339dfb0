from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.settings import Settings
from services.fetcher.net.caching import (
    conditional_headers,
    max_age_seconds,
    retry_after_seconds,
    validators_trusted,
)
from services.fetcher.state.feedstate import (
    FeedState,
    frequency_interval,
    next_error_poll,
    next_success_poll,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "trusted"),
    [
        ({}, True),
        ({"cache-control": "max-age=300"}, True),
        ({"cache-control": "no-cache"}, False),
        ({"cache-control": "private, no-store"}, False),
        ({"expires": "0"}, False),
        ({"expires": "Thu, 01 Jan 1970 00:00:00 GMT"}, False),
        ({"expires": "Mon, 05 Jan 2026 13:00:00 GMT"}, True),
        ({"expires": "garbage"}, False),
    ],
)
def test_validators_trusted(headers: dict[str, str], trusted: bool) -> None:
    assert validators_trusted(headers, NOW) is trusted


def test_max_age_and_retry_after() -> None:
    assert max_age_seconds({"cache-control": "public, max-age=900"}) == 900
    assert max_age_seconds({"cache-control": "s-maxage=60"}) == 60
    assert max_age_seconds({"cache-control": "no-cache, max-age=900"}) is None
    assert retry_after_seconds({"retry-after": "120"}, NOW) == 120
    assert retry_after_seconds({"retry-after": "Mon, 05 Jan 2026 12:10:00 GMT"}, NOW) == 600
    assert retry_after_seconds({"retry-after": "soon"}, NOW) is None


def test_bogus_validators_are_dropped_after_a_bounded_streak_or_age() -> None:
    settings = Settings(max_not_modified_streak=3, max_validator_age_hours=1)
    state = FeedState(url="u", partition=0, etag='"e"', last_modified="lm", validators_at=NOW)
    assert conditional_headers(state, NOW, settings) == ('"e"', "lm")
    state.not_modified_streak = 3
    assert conditional_headers(state, NOW, settings) == (None, None)
    state.not_modified_streak = 0
    assert conditional_headers(state, NOW + timedelta(hours=2), settings) == (None, None)


def test_frequency_follows_the_feed() -> None:
    busy = [NOW - timedelta(minutes=10 * i) for i in range(50)]
    quiet = [NOW - timedelta(days=3)]
    assert frequency_interval(busy, NOW, 86400) < frequency_interval(quiet, NOW, 86400)
    assert frequency_interval([], NOW, 7200) == 7200
    assert frequency_interval([NOW - timedelta(days=9)], NOW, 7200) == 7200


def test_next_poll_is_bounded_and_honours_ttl_and_max_age() -> None:
    busy = FeedState(
        url="u", partition=0, entry_times=[NOW - timedelta(minutes=i) for i in range(50)]
    )
    bounds = {"min_interval_s": 300.0, "max_interval_s": 3600.0}
    assert next_success_poll(NOW, busy, **bounds) == NOW + timedelta(seconds=300)
    assert next_success_poll(NOW, busy, ttl_s=1200, **bounds) == NOW + timedelta(seconds=1200)
    assert next_success_poll(NOW, busy, max_age_s=1800, **bounds) == NOW + timedelta(seconds=1800)
    assert next_success_poll(NOW, busy, ttl_s=99999, **bounds) == NOW + timedelta(seconds=3600)


def test_errors_back_off_exponentially_with_jitter_and_honour_retry_after() -> None:
    waits = [
        (next_error_poll(NOW, n, min_interval_s=60, max_interval_s=3600) - NOW).total_seconds()
        for n in (1, 2, 3, 4, 10)
    ]
    assert 48 <= waits[0] <= 72 and 96 <= waits[1] <= 144 and 192 <= waits[2] <= 288
    assert waits[-1] <= 3600 * 1.2  # capped: a failing feed is still retried
    retry = next_error_poll(NOW, 1, min_interval_s=60, max_interval_s=3600, retry_after_s=7200)
    assert retry - NOW >= timedelta(seconds=7200)
