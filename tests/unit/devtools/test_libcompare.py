"""The library comparison (issue #18 item 7): our robots.txt matcher, charset labels and URL
canonicaliser pass every case that matters, whether or not the libraries are installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.devtools import libcompare


def test_ours_pass_every_case_that_matters() -> None:
    installed = {name: False for name in libcompare.MODULES}  # ours only: fast, no imports
    rows = [libcompare.evaluate(case, installed) for case in libcompare.all_cases()]
    failed = [(r.component, r.name, r.ours) for r in rows if r.matters and not r.ours_ok]
    assert failed == []
    # Every RFC 9309 example is one that matters, the two %-escapes of 2.2.3 included.
    rfc = [r for r in rows if r.component == "robots" and r.source.startswith("RFC 9309")]
    assert len(rfc) >= 25 and all(r.matters and r.ours_ok for r in rfc)
    # Every label of the WHATWG table is there, and only those without a codec do not matter.
    labels = [r for r in rows if r.component == "charset" and r.name.startswith("label ")]
    assert len(labels) == sum(len(v) for v in libcompare.WHATWG_LABELS.values()) == 228
    assert {r.name.split(" -> ")[1] for r in labels if not r.matters} == {
        "replacement",
        "x-user-defined",
    }


def test_main_writes_the_table_and_one_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, table = tmp_path / "libcompare.json", tmp_path / "libcompare.md"
    assert libcompare.main(["--out", str(out), "--table", str(table), "--quiet"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(last) == {"installed", "robots", "charset", "urls"}
    for component in ("robots", "charset", "urls"):
        entry = last[component]
        assert entry["ours_pass_that_matter"] == entry["cases_that_matter"] > 0
    report = json.loads(out.read_text())
    assert len(report["rows"]) == sum(last[c]["cases"] for c in ("robots", "charset", "urls"))
    assert "| case | source | expected | ours | protego | agree? |" in table.read_text()
