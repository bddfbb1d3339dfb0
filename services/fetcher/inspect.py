"""Read the feed registry and the fetcher's per-feed state back from Kafka, for the CLI."""

from __future__ import annotations

import json
from typing import Any

from services.common.errors import NewswireError
from services.common.settings import Settings
from services.common.topicread import read_topic
from services.common.topics import FEEDS
from services.fetcher.state.feedstate import FeedState

# Faust names a table's changelog "<app id>-<table>-changelog".
STATE_CHANGELOG = "newswire-fetcher-feed-state-changelog"


def _latest(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Compacted-topic semantics: the last value per key wins; a null removes the key."""
    latest: dict[str, Any] = {}
    for rec in records:
        if rec["value"] is None:
            latest.pop(rec["key"], None)
        else:
            latest[rec["key"]] = rec["value"]
    return latest


async def registered_feeds(settings: Settings) -> dict[str, dict[str, Any]]:
    return _latest(await read_topic(settings, FEEDS.name, timeout=3.0))


async def feed_states(settings: Settings) -> dict[str, FeedState]:
    """Each feed's polling state as the fetcher last saved it (empty before its first start)."""
    try:
        records = await read_topic(settings, STATE_CHANGELOG, timeout=3.0)
    except NewswireError:  # no fetcher has run yet: no changelog topic
        return {}
    for rec in records:
        # Faust's json serializer stores the table's str keys and values as JSON strings.
        rec["key"] = json.loads(rec["key"]) if rec["key"] else rec["key"]
    states = {}
    for key, value in _latest(records).items():
        text = value if isinstance(value, str) else json.dumps(value)
        states[key] = FeedState.model_validate_json(text)
    return states


def describe(
    url: str, registration: dict[str, Any] | None, state: FeedState | None
) -> dict[str, Any]:
    """One feed, as `newswire feeds show` prints it."""
    out: dict[str, Any] = {"url": url, "registered": registration is not None}
    if registration:
        out.update(
            title=registration.get("title"),
            tags=registration.get("tags", []),
            # None: the fetcher's NEWSWIRE_FEED_PAGES.
            pages=registration.get("pages"),
        )
    if state is not None:
        out.update(
            status="failing" if state.failing else "ok",
            error_count=state.error_count,
            last_error=state.last_error,
            last_status=state.last_status,
            last_polled_at=state.last_polled_at.isoformat() if state.last_polled_at else None,
            next_poll_at=state.next_poll_at.isoformat(),
            etag=state.etag,
            last_modified=state.last_modified,
            not_modified_streak=state.not_modified_streak,
            entries_seen=len(state.seen),
            partition=state.partition,
        )
    else:
        out["status"] = "not polled yet"
    return out
