"""HTTP caching rules for feed polls: which validators to trust, send and store.

Kept apart from the client so the rules can be read (and tested) in one place,
as Miniflux keeps them in its response handler.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.fetcher.state.feedstate import FeedState

MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


def _directives(headers: dict[str, str]) -> frozenset[str]:
    return _parse_directives(headers.get("cache-control", ""))


# Servers send the same few Cache-Control values on every response: parsed once each.
@lru_cache(maxsize=256)
def _parse_directives(value: str) -> frozenset[str]:
    return frozenset(
        part.strip().split("=")[0].lower() for part in value.split(",") if part.strip()
    )


@lru_cache(maxsize=256)
def _max_age(value: str) -> int | None:
    match = MAX_AGE.search(value)
    return int(match.group(1)) if match else None


def validators_trusted(headers: dict[str, str], now: datetime) -> bool:
    """False when the server says its response must not be reused without a full check.

    `Cache-Control: no-cache`/`no-store` or an `Expires` that is 0 or already past mean
    the validators are not to be relied on: such feeds get an unconditional GET.
    """
    if _directives(headers) & {"no-cache", "no-store"}:
        return False
    expires = headers.get("expires")
    if expires is not None:
        if expires.strip() in ("0", "-1"):
            return False
        try:
            when = parsedate_to_datetime(expires)
        except (TypeError, ValueError):
            return False  # an invalid Expires means "already expired" (RFC 9111 5.3)
        if when.tzinfo is not None and when <= now:
            return False
    return True


def max_age_seconds(headers: dict[str, str]) -> int | None:
    if _directives(headers) & {"no-cache", "no-store"}:
        return None
    return _max_age(headers.get("cache-control", ""))


def retry_after_seconds(headers: dict[str, str], now: datetime) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def conditional_headers(
    state: FeedState, now: datetime, *, max_streak: int, max_age_hours: float
) -> tuple[str | None, str | None]:
    """The validators to send, or none when they can no longer be trusted.

    A server with a bogus validator answers 304 forever; after `max_streak` 304s in a
    row, or once the validators are older than `max_age_hours`, poll in full.
    """
    if state.not_modified_streak >= max_streak:
        return None, None
    if state.validators_at is not None and now - state.validators_at > timedelta(
        hours=max_age_hours
    ):
        return None, None
    return state.etag, state.last_modified
