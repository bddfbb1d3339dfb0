"""`newswire reprocess`'s pure half: times, the offsets read again per partition, which
records are taken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.ops.reprocessplan import (
    STAGES,
    Latest,
    Span,
    Window,
    millis,
    parse_when,
    plan_offsets,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_times_are_iso_or_a_span_back_from_now() -> None:
    assert parse_when("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_when("90m", NOW) == NOW - timedelta(minutes=90)
    assert parse_when("1.5d", NOW) == NOW - timedelta(hours=36)
    assert parse_when("1w", NOW) == NOW - timedelta(days=7)
    assert parse_when("2026-12-01", NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_when("2026-12-01T10:00:00+02:00", NOW) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    for bad in ("yesterday", "2x", "", "-3h"):
        with pytest.raises(ValueError):
            parse_when(bad, NOW)


def test_each_stage_reads_its_live_input_and_writes_its_live_output() -> None:
    assert {k: (v.source.name, v.output.name) for k, v in STAGES.items()} == {
        "cleaner": ("newswire.pages", "newswire.articles"),
        "enricher": ("newswire.articles", "newswire.enriched"),
    }


def test_the_plan_reads_from_the_first_record_at_since_to_the_end_when_it_began() -> None:
    spans = plan_offsets(
        beginnings={0: 0, 1: 0, 2: 0, 3: 0},
        ends={0: 100, 1: 50, 2: 70, 3: 10},
        # 2: no record at or after --since; 3: the first one is the end (nothing yet).
        at_since={0: 40, 1: 0, 2: None, 3: 10},
    )
    assert spans == [Span(0, 40, 100), Span(1, 0, 50)]
    assert sum(s.count for s in spans) == 110


def test_until_stops_each_partition_at_its_first_record_at_until() -> None:
    spans = plan_offsets(
        beginnings={0: 0, 1: 0, 2: 0},
        ends={0: 100, 1: 50, 2: 70},
        at_since={0: 40, 1: 10, 2: 5},
        # 0: the first record at --until is offset 60; 1: none (all before it); 2: the
        # first record is already past it.
        at_until={0: 60, 1: None, 2: 5},
    )
    assert spans == [Span(0, 40, 60), Span(1, 10, 50)]


def test_records_deleted_by_retention_are_not_asked_for() -> None:
    spans = plan_offsets(beginnings={0: 30}, ends={0: 100}, at_since={0: 10})
    assert spans == [Span(0, 30, 100)]
    assert plan_offsets(beginnings={0: 100}, ends={0: 100}, at_since={0: 10}) == []


def test_the_window_takes_records_stamped_within_it() -> None:
    since = millis(NOW - timedelta(hours=1))
    window = Window(since, millis(NOW))
    assert since in window
    assert since - 1 not in window  # a producer whose clock is behind: left
    assert millis(NOW) not in window
    assert millis(NOW) + 10**9 in Window(since)


def test_only_the_last_record_of_an_article_is_taken_again() -> None:
    latest = Latest()
    for key, partition, offset in [(b"a", 0, 1), (b"b", 1, 2), (b"a", 0, 5), (None, 0, 6)]:
        latest.see(key, partition, offset)
    assert latest.superseded(b"a", 0, 1)
    assert not latest.superseded(b"a", 0, 5)
    assert not latest.superseded(b"b", 1, 2)
    assert not latest.superseded(None, 0, 6)  # no key: nothing can supersede it
    assert not latest.superseded(b"c", 2, 0)  # not seen in the scan (produced since)
