"""The stall watch's decisions, on a clock the test moves."""

from __future__ import annotations

from services.common.stallwatch import Observed, StallWatch, Verdict

AFTER = 60.0


def seen(
    *,
    lag: int = 10,
    committed: int = 100,
    handed: int = 5,
    first: int | None = 96,
    waiting: bool = False,
) -> Observed:
    return Observed(lag, committed, handed, first, waiting)


def test_a_partition_that_moves_is_never_suspect() -> None:
    watch = StallWatch(AFTER)
    for step in range(20):
        now = step * 30.0
        verdict = watch.check("tp", seen(committed=100 + step, handed=5 + step), now)
        assert verdict is Verdict.OK


def test_records_behind_and_nothing_handed_out_for_the_window_is_suspect() -> None:
    watch = StallWatch(AFTER)
    assert watch.check("tp", seen(), 0.0) is Verdict.OK
    assert watch.check("tp", seen(), 59.0) is Verdict.OK
    assert watch.check("tp", seen(), 60.0) is Verdict.SUSPECT


def test_no_accusation_without_lag_or_while_the_agent_has_its_records() -> None:
    watch = StallWatch(AFTER)
    watch.check("idle", seen(lag=0), 0.0)
    watch.check("busy", seen(waiting=True), 0.0)
    for now in (100.0, 500.0, 1000.0):
        assert watch.check("idle", seen(lag=0), now) is Verdict.OK
        assert watch.check("busy", seen(waiting=True), now) is Verdict.OK
    # The window starts when the agent was last seen with records, not before.
    assert watch.check("busy", seen(), 1010.0) is Verdict.OK
    assert watch.check("busy", seen(), 1059.0) is Verdict.OK
    assert watch.check("busy", seen(), 1060.0) is Verdict.SUSPECT


def test_records_from_before_the_repair_count_as_a_recovered_stall() -> None:
    watch = StallWatch(AFTER)
    watch.check("tp", seen(), 0.0)
    assert watch.check("tp", seen(), 60.0) is Verdict.SUSPECT
    watch.repairing("tp", 60.0, highwater=110)
    # The seek forgot the first offset handed out; nothing new yet.
    assert watch.check("tp", seen(first=None), 70.0) is Verdict.OK
    # Records below the high-water mark at the repair: they were waiting all along.
    assert watch.check("tp", seen(handed=9, first=100), 80.0) is Verdict.RECOVERED
    assert watch.check("tp", seen(committed=110, handed=15, first=100, lag=0), 90.0) is Verdict.OK


def test_a_record_produced_after_the_repair_is_not_a_recovery() -> None:
    # Transaction markers looked like lag; the repair read nothing, then a new record came.
    watch = StallWatch(AFTER)
    watch.check("tp", seen(lag=1), 0.0)
    assert watch.check("tp", seen(lag=1), 60.0) is Verdict.SUSPECT
    watch.repairing("tp", 60.0, highwater=101)
    assert watch.check("tp", seen(lag=2, handed=6, first=101), 70.0) is Verdict.OK


def test_still_quiet_after_the_repair_is_said_once_and_then_left_alone() -> None:
    watch = StallWatch(AFTER)
    watch.check("tp", seen(lag=1), 0.0)
    assert watch.check("tp", seen(lag=1), 60.0) is Verdict.SUSPECT
    watch.repairing("tp", 60.0, highwater=101)
    assert watch.check("tp", seen(lag=1), 100.0) is Verdict.OK
    assert watch.check("tp", seen(lag=1), 120.0) is Verdict.STILL_QUIET
    for now in (200.0, 1000.0, 5000.0):
        assert watch.check("tp", seen(lag=1), now) is Verdict.OK
    # Once it moves, it is watched afresh.
    assert watch.check("tp", seen(lag=3, committed=101, handed=6), 5010.0) is Verdict.OK
    assert watch.check("tp", seen(lag=3, committed=101, handed=6), 5070.0) is Verdict.SUSPECT


def test_forget_drops_partitions_no_longer_held() -> None:
    watch = StallWatch(AFTER)
    watch.check("a", seen(), 0.0)
    watch.check("b", seen(), 0.0)
    watch.forget(["a"])
    assert watch.check("a", seen(), 60.0) is Verdict.SUSPECT
    # "b" starts over: reassigned later, its window begins then.
    assert watch.check("b", seen(), 60.0) is Verdict.OK
