from __future__ import annotations

from services.dedup.clock import KEY, StreamClock


def test_the_clock_moves_forward_only_and_records_where() -> None:
    store: dict[str, str] = {}
    clock = StreamClock(store)
    assert clock.day_at(0, 100) == 100
    assert clock.day_at(1, 90) == 100  # an old-dated arrival does not move it back
    assert clock.day_at(2, None) == 100
    assert clock.day_at(3, 102) == 102
    assert store[KEY] == "0:100,3:102"


def test_a_redelivered_number_gets_its_first_day_even_from_a_new_clock() -> None:
    store: dict[str, str] = {}
    first = StreamClock(store)
    arrivals = [100, 99, 101, 101, 105, 103, 106]
    days = [first.day_at(seq, day) for seq, day in enumerate(arrivals)]
    assert days == [100, 100, 101, 101, 105, 105, 106]
    restarted = StreamClock(store)  # a restart: the table recovered, nothing in memory
    assert [restarted.day_at(seq, day) for seq, day in enumerate(arrivals)] == days
    assert restarted.day_at(4, 105) == 105 and restarted.day_at(1, 99) == 100


def test_a_lost_point_is_made_good_by_the_arrival_day_itself() -> None:
    # The last point's changelog record was lost in a crash: its own article, asked
    # again, still gets the day it had.
    clock = StreamClock({KEY: "0:100"})
    assert clock.day_at(5, 104) == 104


def test_points_are_bounded() -> None:
    store: dict[str, str] = {}
    clock = StreamClock(store, keep=3)
    for seq in range(10):
        clock.day_at(seq, 100 + seq)
    assert store[KEY] == "7:107,8:108,9:109"
    assert clock.day_at(10, None) == 109
