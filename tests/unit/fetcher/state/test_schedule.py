"""When each owned feed is next due (state.schedule): the index beside the feed-state table."""

from __future__ import annotations

from datetime import UTC, datetime

from services.fetcher.state.feedstate import FeedState
from services.fetcher.state.schedule import ScheduledTable, Slot, slot_of

DUE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def state_json(url: str, partition: int, errors: int = 0, seen: int = 0) -> str:
    state = FeedState(url=url, partition=partition, next_poll_at=DUE, error_count=errors)
    state.seen = [f"{url}#entry-{i}" for i in range(seen)]
    return state.model_dump_json()


def test_slot_reads_the_schedule_of_a_big_state() -> None:
    assert slot_of(state_json("http://a/feed", 3, errors=2, seen=2000)) == Slot(3, DUE, True)


def test_writes_go_through_and_keep_the_index() -> None:
    backing: dict[str, str] = {}
    table = ScheduledTable(backing)
    table["http://a/feed"] = state_json("http://a/feed", 1)
    table["http://b/feed"] = state_json("http://b/feed", 2, errors=1)
    assert set(backing) == {"http://a/feed", "http://b/feed"}
    assert table.slots["http://b/feed"] == Slot(2, DUE, True)
    del table["http://a/feed"]
    assert "http://a/feed" not in backing and set(table.slots) == {"http://b/feed"}
    assert "http://b/feed" in table and len(table) == 1 and list(table) == ["http://b/feed"]
    assert table.get("http://a/feed") is None


def test_rebuild_reads_what_recovery_wrote_behind_its_back() -> None:
    backing = {"http://c/feed": state_json("http://c/feed", 0)}
    table = ScheduledTable(backing)
    assert table.slots == {}
    table.rebuild()
    assert table.slots == {"http://c/feed": Slot(0, DUE, False)}
