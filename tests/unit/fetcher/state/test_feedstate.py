"""Per-feed polling state (state.feedstate): when the next poll is due, the seen ids, and
the stored form that a poll need not decode whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from services.fetcher.state.feedstate import (
    DEFER_SEEN_BYTES,
    FeedState,
    StoredState,
    frequency_interval,
    next_error_poll,
    next_success_poll,
)
from tests.unit.fetcher.feedstates import big_seen, feed_state

# Text that looks like the keys StoredState splits on, to show values never confuse it.
TRICKY = st.sampled_from(['","seen":[', ',"seen":', ',"entry_times":', '"]}', "\\", "é", "\n"])


TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=12)), max_size=4).map("".join)


@settings(max_examples=200, deadline=None, database=None)
@given(seen=st.lists(TEXT, max_size=120), title=st.one_of(st.none(), TEXT))
def test_stored_state_round_trips_any_state(seen: list[str], title: str | None) -> None:
    raw = feed_state(seen, title).model_dump_json()
    stored = StoredState(raw)
    assert stored.dump() == raw  # untouched: the same bytes back
    stored.state.not_modified_streak += 1
    again = FeedState.model_validate_json(stored.dump())
    assert again.seen == seen and again.title == title and again.not_modified_streak == 1
    assert StoredState(raw).seen_ids() == seen


def test_a_long_seen_list_is_neither_decoded_nor_encoded_by_a_304_poll() -> None:
    seen = big_seen()
    raw = feed_state(seen).model_dump_json()
    assert len(raw) > DEFER_SEEN_BYTES
    stored = StoredState(raw)
    assert stored.state.seen == []  # deferred: still JSON text
    stored.state.not_modified_streak = 3
    written = stored.dump()
    assert written.endswith(raw[raw.index(',"seen":') :])  # copied, not re-encoded
    assert FeedState.model_validate_json(written) == feed_state(seen).model_copy(
        update={"not_modified_streak": 3}
    )


def test_new_entries_decode_the_seen_ids_and_store_them_all() -> None:
    seen = big_seen()
    stored = StoredState(feed_state(seen).model_dump_json())
    assert stored.seen_ids() == seen
    stored.state.remember(["new-1", "new-2"], bound=2000)
    assert FeedState.model_validate_json(stored.dump()).seen == [*seen, "new-1", "new-2"]


def test_a_state_stored_by_the_previous_version_is_read_whole() -> None:
    """Before, `seen` was declared (so serialised) before entry_times."""
    seen = big_seen()
    state = feed_state(seen, times=3)
    fields = state.model_dump(mode="json")
    order = [k for k in fields if k not in ("seen", "entry_times")] + ["seen", "entry_times"]
    old = json.dumps({k: fields[k] for k in order}, separators=(",", ":"), ensure_ascii=False)
    assert old.index(',"seen":') < old.index(',"entry_times":')
    stored = StoredState(old)
    assert stored.state == state and stored.state.seen == seen
    assert FeedState.model_validate_json(stored.dump()) == state


def test_seen_is_the_last_field() -> None:
    """StoredState defers the ids only when they end the stored JSON: a field declared
    after `seen` would be stored twice (once in the head, once after the ids)."""
    assert list(FeedState.model_fields)[-2:] == ["entry_times", "seen"]


NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


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
    bounded = partial(next_success_poll, min_interval_s=300.0, max_interval_s=3600.0)
    assert bounded(NOW, busy) == NOW + timedelta(seconds=300)
    assert bounded(NOW, busy, ttl_s=1200) == NOW + timedelta(seconds=1200)
    assert bounded(NOW, busy, max_age_s=1800) == NOW + timedelta(seconds=1800)
    assert bounded(NOW, busy, ttl_s=99999) == NOW + timedelta(seconds=3600)


def test_errors_back_off_exponentially_with_jitter_and_honour_retry_after() -> None:
    waits = [
        (next_error_poll(NOW, n, min_interval_s=60, max_interval_s=3600) - NOW).total_seconds()
        for n in (1, 2, 3, 4, 10)
    ]
    assert 48 <= waits[0] <= 72 and 96 <= waits[1] <= 144 and 192 <= waits[2] <= 288
    assert waits[-1] <= 3600 * 1.2  # capped: a failing feed is still retried
    retry = next_error_poll(NOW, 1, min_interval_s=60, max_interval_s=3600, retry_after_s=7200)
    assert retry - NOW >= timedelta(seconds=7200)


def test_remember_drops_the_oldest_ids_no_longer_in_the_feed() -> None:
    state = FeedState(url="u", partition=0, seen=["a", "b", "c", "d"])
    state.remember(["e", "f"], bound=4, present={"a", "e", "f"})
    assert state.seen == ["a", "d", "e", "f"]
    state.remember(["g"], bound=2, present={"a", "d", "e", "f", "g"})
    assert state.seen == ["a", "d", "e", "f", "g"]  # all still listed: all kept
