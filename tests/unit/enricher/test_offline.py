"""`newswire enrich`, run as the user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from services.common.settings import PROJECT_ROOT
from tests.conftest import validate_record

DATA = Path(__file__).parent / "data"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )


def test_enrich_jsonl_file() -> None:
    proc = run("-m", "services.cli", "enrich", str(DATA / "articles.jsonl"))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in records] == ["en1", "fr1", "min1"]
    for r in records:
        validate_record("newswire.enriched", r)
    en, fr, short = records
    entities = {e["text"]: e["label"] for e in en["entities"]}
    assert entities["Joseph Camilleri"] == "PERSON" and entities["Catania"] == "GPE"
    # The quote's offsets into the body, counted by hand: the 85-character first
    # sentence, a blank line (2) and the opening quotation mark put it at 88..123.
    quote = "We have never seen waves like these"
    body = json.loads((DATA / "articles.jsonl").read_text().splitlines()[0])["text"]
    assert body[88:123] == quote
    assert en["quotes"] == [{"text": quote, "speaker": "Joseph Camilleri", "start": 88, "end": 123}]
    assert {p["name"]: p["country_code"] for p in en["places"]}["Catania"] == "IT"
    assert en["keywords"] and en["language"] == "en"
    assert fr["language"] == "fr" and "entities" in fr["enrichment_skipped"]
    assert fr["keywords"] and fr["entities"] == []
    assert short["language"] is None and short["word_count"] == 1


def test_enrich_stdin_with_a_bad_line() -> None:
    lines = [
        json.dumps({"id": "s1", "title": "T", "text": "Talks resumed in Cairo on Monday."}),
        "not json",
    ]
    proc = run("-m", "services.cli", "enrich", "--strict", "-", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 1
    good, bad = (json.loads(line) for line in proc.stdout.splitlines())
    assert good["id"] == "s1" and any(e["text"] == "Cairo" for e in good["entities"])
    assert bad["source"] == "-:2" and "error" in bad
