"""HTTP caching rules for feed polls (net.caching): validators, max-age, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.settings import Settings
from services.fetcher.config import config_from
from services.fetcher.net import caching
from services.fetcher.net.caching import (
    conditional_headers,
    max_age_seconds,
    retry_after_seconds,
    validators_trusted,
)
from services.fetcher.state.feedstate import FeedState

THEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    ["", "max-age=60", "no-cache", "public, max-age=300", 'max-age="90", no-store', "s-maxage=5"],
)
def test_cache_control_answers_do_not_change_when_repeated(value: str) -> None:
    headers = {"cache-control": value}
    first = (caching.max_age_seconds(headers), caching.validators_trusted(headers, THEN))
    assert (
        caching.max_age_seconds(headers),
        caching.validators_trusted(headers, THEN),
    ) == first


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
    config = config_from(Settings(max_not_modified_streak=3, max_validator_age_hours=1))
    state = FeedState(url="u", partition=0, etag='"e"', last_modified="lm", validators_at=NOW)
    assert config.validators(state, NOW) == ('"e"', "lm")
    state.not_modified_streak = 3
    assert config.validators(state, NOW) == (None, None)
    assert conditional_headers(state, NOW, max_streak=4, max_age_hours=1) == ('"e"', "lm")
    state.not_modified_streak = 0
    assert config.validators(state, NOW + timedelta(hours=2)) == (None, None)
