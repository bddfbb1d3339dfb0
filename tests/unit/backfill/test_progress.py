"""Resume plans, the progress topic folded, the rate bound."""

from __future__ import annotations

from pathlib import Path

from services.backfill.progress import KEY_BYTES, Plan, RateLimit, file_key, fold, plan
from services.common.models import BackfillProgress, encode


def note(offset: int, size: int, *, done: bool = False, records: int = 0) -> BackfillProgress:
    return BackfillProgress(path="a.warc.gz", size=size, offset=offset, done=done, records=records)


def test_plans() -> None:
    assert plan(None, 100) == Plan()
    assert plan(note(40, 100, records=3), 100) == Plan(40, 3)
    assert plan(note(100, 100, done=True, records=9), 100).done
    # Grown since it was done (an archive of the current hour): only what was added.
    assert plan(note(100, 100, done=True, records=9), 150) == Plan(100, 9)
    # Shorter than the note says: another file under the same key; start over.
    assert plan(note(80, 100, records=5), 60) == Plan()
    assert plan(note(100, 100, done=True), 90) == Plan()


def test_the_key_is_the_files_head_wherever_it_lies(tmp_path: Path) -> None:
    a = tmp_path / "a.warc.gz"
    a.write_bytes(b"x" * (KEY_BYTES + 10))
    b = tmp_path / "sub" / "b.warc.gz"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes() + b"appended")
    assert file_key(a) == file_key(b)
    a.write_bytes(b"y" + a.read_bytes()[1:])
    assert file_key(a) != file_key(b)


def test_fold_keeps_the_latest_note_and_forgets_tombstones() -> None:
    records = [
        (b"k1", encode(note(10, 100))),
        (b"k2", encode(note(5, 50))),
        (b"k1", encode(note(100, 100, done=True))),
        (b"k2", None),
        (b"k3", b"not json"),
        (None, encode(note(1, 1))),
    ]
    latest = fold(records)
    assert set(latest) == {"k1"} and latest["k1"].done


def test_rate_limit() -> None:
    limit = RateLimit(10.0, burst_s=0.0)
    waits = [limit.delay(0.0) for _ in range(5)]
    assert [round(w, 6) for w in waits] == [0.0, 0.1, 0.2, 0.3, 0.4]
    # After an idle spell it banks no more than the burst: 0.2 s, two records.
    limit = RateLimit(10.0, burst_s=0.2)
    assert [round(limit.delay(100.0), 6) for _ in range(5)] == [0.0, 0.0, 0.0, 0.1, 0.2]
    unbounded = RateLimit(0.0)
    assert all(unbounded.delay(0.0) == 0.0 for _ in range(1000))
