"""What `newswire backfill` shows while it runs: a bar redrawn in place on a terminal,
a plain line every few seconds otherwise (a log file, CI)."""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

BAR_WIDTH = 24


def share_head(done: int, total: int, *, bar: bool) -> str:
    """The start of a progress line: a bar (on a terminal) and the share done."""
    share = min(1.0, max(0.0, done / total if total else 1.0))
    head = ""
    if bar:
        filled = round(share * BAR_WIDTH)
        head = "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "] "
    return f"{head}{share:4.0%}"


def per_second(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def add_json_option(p: argparse.ArgumentParser) -> None:
    """--json [FILE]: a run's counts for scripts (shared by backfill and reprocess)."""
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the counts as JSON to FILE (or as the last line of output)",
    )


@dataclass
class Tally:
    """Counts of one run."""

    files: int = 0
    files_done_before: int = 0
    records: int = 0
    pages: int = 0
    dead_letters: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0  # of the files, up to where each was read
    bytes_total: int = 0  # of the files to read

    def as_dict(self, seconds: float) -> dict[str, object]:
        return {
            "files": self.files,
            "files_done_before": self.files_done_before,
            "records": self.records,
            "pages": self.pages,
            "dead_letters": self.dead_letters,
            "skipped": dict(sorted(self.skipped.items())),
            "seconds": round(seconds, 3),
            "records_per_s": round(self.records / seconds, 1) if seconds > 0 else None,
            "pages_per_s": round(self.pages / seconds, 1) if seconds > 0 else None,
        }


def progress_line(tally: Tally, seconds: float, current: str, *, bar: bool) -> str:
    head = share_head(tally.bytes_read, tally.bytes_total, bar=bar)
    return (
        f"{head} {tally.records} records {per_second(tally.records, seconds):.0f}/s, "
        f"{tally.pages} pages, {sum(tally.skipped.values())} skipped, "
        f"{tally.dead_letters} dead-lettered  {current}"
    )


def summary_lines(tally: Tally, seconds: float) -> list[str]:
    lines = [
        f"{tally.files} files ({tally.files_done_before} done before), {tally.records} records "
        f"in {seconds:.1f} s ({per_second(tally.records, seconds):.0f}/s)",
        f"pages sent: {tally.pages}; dead-lettered: {tally.dead_letters}",
    ]
    if tally.skipped:
        lines.append("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.skipped.items())))
    return lines


class Progress:
    """Shows `progress_line`: redrawn at most every `tty_interval` s on a terminal,
    printed every `plain_interval` s elsewhere. Times are passed in."""

    def __init__(
        self,
        out: TextIO,
        *,
        tty: bool,
        tty_interval: float = 0.2,
        plain_interval: float = 10.0,
    ) -> None:
        self.out = out
        self.tty = tty
        self.interval = tty_interval if tty else plain_interval
        self._last = float("-inf")
        self._width = 0

    def update(self, tally: Tally, seconds: float, current: str, *, force: bool = False) -> None:
        if not force and seconds - self._last < self.interval:
            return
        self._last = seconds
        line = progress_line(tally, seconds, current, bar=self.tty)
        if self.tty:
            pad = max(0, self._width - len(line))
            self.out.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.out.write("\n")
            self.out.flush()
