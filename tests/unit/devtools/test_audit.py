"""The dependency audit's reading of pip-audit reports."""

from __future__ import annotations

from services.devtools.audit import summarize

REPORT = {
    "dependencies": [
        {"name": "clean", "version": "1.0", "vulns": []},
        {
            "name": "leaky",
            "version": "2.0",
            "vulns": [
                {"id": "PYSEC-1", "fix_versions": ["2.1"], "aliases": ["CVE-1"]},
                {"id": "GHSA-x", "fix_versions": [], "aliases": []},
            ],
        },
        {"name": "ghost", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ],
    "fixes": [],
}


def test_vulnerabilities_are_listed_with_their_fixes() -> None:
    summary = summarize(REPORT)
    assert summary["packages"] == 3
    assert summary["vulnerabilities"] == 2
    assert summary["vulnerable_packages"] == 1
    assert summary["found"][0] == {
        "package": "leaky",
        "version": "2.0",
        "id": "PYSEC-1",
        "aliases": ["CVE-1"],
        "fix_versions": ["2.1"],
    }


def test_a_package_not_looked_up_is_skipped_not_clean() -> None:
    summary = summarize(REPORT)
    assert summary["audited"] == 2
    assert summary["skipped"] == 1
    assert summarize({"dependencies": [REPORT["dependencies"][2]]})["audited"] == 0
