"""The cleaner benchmark, tiny: three pages, one pass of each path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from services.devtools import benchcleaner

PAGE = (
    "<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
    + "<p>Paragraph {i} has enough words to count as the body text of a news story.</p>" * 4
    + "</article></body></html>"
)


def test_benchcleaner_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pages = tmp_path / "pages" / "html"
    pages.mkdir(parents=True)
    (pages / "a.html").write_text(PAGE.format(i=1))
    (pages / "b.html.gz").write_bytes(gzip.compress(PAGE.format(i=2).encode()))
    (pages / "c.html").write_text(PAGE.format(i=3))
    (pages / "notes.txt").write_text("not a page")
    out = tmp_path / "nested" / "bench.json"
    assert benchcleaner.main([str(tmp_path / "pages"), "--passes", "1", "--out", str(out)]) == 0
    headline = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("docs_per_s", "bare_docs_per_s", "ratio", "peak_rss_mb", "bare_peak_rss_mb"):
        assert headline[key] > 0, key
    assert headline["docs"] == 3 and headline["errors"] == 0
    assert json.loads(out.read_text())["headline"] == headline
