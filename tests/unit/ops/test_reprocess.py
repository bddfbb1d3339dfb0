"""`newswire reprocess`'s progress line and closing summary, as it shows them."""

from __future__ import annotations

import io

from services.ops.reprocess import ReprocessProgress
from services.ops.reprocessplan import Counts, summary_lines


def test_progress_and_summary_say_what_was_read_sent_and_skipped() -> None:
    counts = Counts(planned=10, read=4, processed=3, sent=2, dead_letters=1)
    counts.skipped["outside_window"] += 1
    out = io.StringIO()
    shown = ReprocessProgress(out, tty=True)
    shown.show(counts, 2.0, "newswire.pages[1]")
    shown.show(counts, 2.01, "newswire.pages[1]")  # within the redraw interval: not drawn
    shown.close()
    text = out.getvalue()
    assert text.count("\r") == 1
    assert "[##########--------------]  40% 4/10 records 2/s, 2 sent, 1 skipped" in text
    assert "1 dead-lettered  newswire.pages[1]" in text
    lines = summary_lines(counts, 2.0, "newswire.articles", dry_run=False)
    assert lines[1] == "sent to newswire.articles: 2; dead-lettered: 1"
    assert lines[2] == "skipped: outside_window 1"
    assert summary_lines(counts, 0.0, "x", dry_run=True) == [
        "would read 10 records again (nothing sent: --dry-run)"
    ]
    assert counts.as_dict(2.0)["records_per_s"] == 2.0
