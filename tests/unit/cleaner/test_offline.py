from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

from services.cleaner.offline import run
from services.common.settings import Settings
from tests.conftest import SEED_HTML, SEED_TXT, validate_record


def test_extract_files_folders_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "a.html.gz").write_bytes(gzip.compress(SEED_HTML.read_bytes()))
    (tmp_path / "b.txt").write_text(SEED_TXT.read_text())
    (tmp_path / "empty.html").write_text("<html><body><nav>Home</nav></body></html>")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    out, err = io.StringIO(), io.StringIO()
    stdin = io.StringIO(
        "<html><body><article><p>" + "Words here. " * 30 + "</p></article></body></html>"
    )
    failed = run([str(tmp_path), "-"], Settings(), out=out, err=err, stdin=stdin)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [Path(r["source"]).name for r in records] == ["a.html.gz", "b.txt", "empty.html", "-"]
    assert failed == 1 and records[2]["error"]["reason"] == "no_content"
    html, txt = records[0], records[1]
    for rec in (html, txt, records[3]):
        validate_record("newswire.articles", {k: v for k, v in rec.items() if k != "source"})
    assert html["paragraphs"] == txt["paragraphs"]
    assert html["byline"] == txt["byline"] == "News of War Staff Writer"
    assert err.getvalue() == ""  # no progress bar for a handful of files


def test_progress_bar_for_many_files(tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"{i}.txt").write_text(f"Title {i}\n\nBody text number {i} is here.\n")
    err = io.StringIO()
    run([str(tmp_path)], Settings(), out=io.StringIO(), err=err, stdin=io.StringIO())
    assert "7/7" in err.getvalue()
