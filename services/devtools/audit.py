"""Dependency audit: pip-audit over the project's installed environment, one JSON line out.

pip-audit runs from a virtualenv of its own (`make audit` makes it), so its dependencies
are neither installed into nor audited as the project's; PIPAPI_PYTHON_LOCATION points
it at the interpreter whose packages are audited. A package pip-audit could not look up
is counted as skipped, never as clean: a vulnerability service that cannot be reached
must not read as "no known vulnerabilities".

Exit status: 1 when a vulnerability is known, or (with --strict) when anything was
skipped; 2 when pip-audit itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """Counts and the vulnerabilities (package, version, id, fixed versions) of a report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulns = [
        {
            "package": d["name"],
            "version": d["version"],
            "id": v["id"],
            "aliases": v.get("aliases", []),
            "fix_versions": v.get("fix_versions", []),
        }
        for d in deps
        if not d.get("skip_reason")
        for v in d.get("vulns", [])
    ]
    return {
        "packages": len(deps),
        "audited": len(deps) - len(skipped),
        "skipped": len(skipped),
        "vulnerable_packages": len({v["package"] for v in vulns}),
        "vulnerabilities": len(vulns),
        "found": vulns,
        "skipped_examples": [d["skip_reason"] for d in skipped[:3]],
    }


def run_pip_audit(pip_audit: str, python: str, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [pip_audit, "--format", "json", "--output", str(out), "--progress-spinner", "off"]
        # Newswire itself is installed editable and is not on PyPI: nothing to look up.
        cmd.append("--skip-editable")
        env = {**os.environ, "PIPAPI_PYTHON_LOCATION": python}
        done = subprocess.run(
            [*cmd, *extra], env=env, capture_output=True, text=True, timeout=1800, check=False
        )
        # pip-audit exits 1 when it found vulnerabilities; no report at all is a failure.
        if not out.exists():
            raise RuntimeError(f"pip-audit failed ({done.returncode}): {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(out.read_text())
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pip-audit", default=".cache/pip-audit/bin/pip-audit")
    parser.add_argument("--python", default=sys.executable, help="the environment to audit")
    parser.add_argument("--out", type=Path, default=Path("results/audit.json"))
    parser.add_argument("--strict", action="store_true", help="fail when a package is skipped")
    parser.add_argument("extra", nargs="*", help="more pip-audit arguments (after --)")
    args = parser.parse_args(argv)
    try:
        report = run_pip_audit(args.pip_audit, args.python, args.extra)
    except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(json.dumps({"error": str(exc)[-500:]}))
        return 2
    summary = summarize(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**summary, "report": report}, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "skipped_examples"}))
    if summary["vulnerabilities"] or (args.strict and summary["skipped"]):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
