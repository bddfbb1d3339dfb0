"""`newswire backfill`'s progress line and its tally, as the terminal shows them."""

from __future__ import annotations

import io

from services.backfill.display import Progress, Tally, progress_line


def test_progress_line_and_display() -> None:
    tally = Tally(records=500, pages=400, bytes_read=50, bytes_total=100)
    tally.skipped["revisit"] = 100
    line = progress_line(tally, 2.0, "a.warc.gz", bar=True)
    assert line.startswith("[" + "#" * 12 + "-" * 12 + "]  50%")
    assert "500 records 250/s" in line and "400 pages" in line and "100 skipped" in line
    out = io.StringIO()
    shown = Progress(out, tty=False, plain_interval=10.0)
    for second in range(25):
        shown.update(tally, float(second), "a.warc.gz")
    assert len(out.getvalue().splitlines()) == 3  # at 0, 10 and 20 s
    tty = io.StringIO()
    bar = Progress(tty, tty=True)
    bar.update(tally, 1.0, "a")
    bar.update(tally, 2.0, "b")
    bar.close()
    assert tty.getvalue().count("\r") == 2 and tty.getvalue().endswith("\n")
    assert tally.as_dict(2.0)["records_per_s"] == 250.0
