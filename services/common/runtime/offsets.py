"""The commit arithmetic of the consumer fixes (consumer.py), as pure functions."""

from __future__ import annotations

from collections.abc import Iterable


def commit_point(acked: Iterable[int], committed: int | None) -> tuple[int | None, list[int]]:
    """The offset to commit (the next one to read) and the acknowledged offsets left.

    `acked` are the offsets acknowledged (gaps filled in), in any order, possibly
    repeated; `committed` is the offset committed last (the next one to read), None
    while it is unknown. A commit covers the run of consecutive offsets from the
    committed one: while that record itself is unacknowledged, or the committed
    offset unknown, nothing moves.
    """
    offsets = sorted(set(acked))
    if not offsets or committed is None or offsets[0] > committed:
        return None, offsets
    end = offsets[0]
    for n, offset in enumerate(offsets):
        if offset > end + 1:
            return end + 1, offsets[n:]
        end = offset
    return end + 1, []


def read_before(offset: int) -> int | None:
    """The read offset with `offset` to be read next: the fetch loop takes `_read_offset`
    as the last offset read, the record before (Faust set the next one after a seek)."""
    return offset - 1 if offset else None


def markers_only_left(last_offset: int, seen: int | None, position: int | None) -> bool:
    """Whether a changelog partition whose last offset is `last_offset` is read to its end
    although its last record seen is `seen`: the consumer's `position` (the next offset to
    fetch) is past the end, so what lies after `seen` are markers (or aborted records the
    consumer drops), nothing a table would receive."""
    if position is None or seen is None or seen >= last_offset:
        return False
    return position > last_offset
