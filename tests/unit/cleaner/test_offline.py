"""services/cleaner/offline.py (`newswire extract`): files, folders and stdin to article
records, a progress bar for many files, and a file's own charset read from its bytes."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
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


def test_newswire_extract_reads_a_windows_1252_file(tmp_path: Path) -> None:
    sentence = "Le maire a déclaré que le budget du port était « très sérieux » pour la ville."
    body = "".join(f"<p>{sentence} Paragraphe {i}.</p>" for i in range(6))
    html = (
        '<html><head><meta charset="windows-1252"><title>Budget du port</title></head>'
        f"<body><article><h1>Budget du port</h1>{body}</article></body></html>"
    )
    page = tmp_path / "page.html"
    page.write_bytes(html.encode("cp1252"))
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "extract", str(page)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    record = json.loads(out.stdout.splitlines()[0])
    assert "déclaré" in record["text"] and "\ufffd" not in record["text"]
