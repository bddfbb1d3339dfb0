"""`make chaos` in miniature: a handful of pages through the four service processes on
two fresh brokers, once undisturbed and once with one SIGKILL per service, a broker
pause and a broker kill and restart on its data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.devtools import chaos
from tests.unit.devtools.test_chaos import tiny_datasets


# Two runs of service start-ups (the enricher loads its models each time): minutes on
# a loaded machine, more than the suite's default limit.
@pytest.mark.timeout(1800)
def test_tiny_chaos_run_loses_nothing_and_reports_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = tiny_datasets(tmp_path / "data", n=3)
    out = tmp_path / "results" / "chaos.json"
    code = chaos.main(
        [
            "--datasets", str(datasets),
            "--out", str(out),
            "--pages", "6",
            "--copies", "2",
            "--hosts", "3",
            "--kills", "1",
            "--pause-seconds", "3",
            "--timeout", "600",
            "--seed", "11",
        ]
    )  # fmt: skip
    headline = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = json.loads(out.read_text())
    assert code == 0, json.dumps(report["disturbed"])
    assert headline["both_finished"] is True
    assert headline["entries"] == 8 and headline["copies"] == 2
    assert headline["lost"] == 0 and headline["lost_undisturbed"] == 0
    # Exact copies of a page are caught when nothing is disturbed.
    assert headline["copies_missed_exact_undisturbed"] == 0
    assert headline["kills"] == {"fetcher": 1, "cleaner": 1, "enricher": 1, "dedup": 1}
    assert headline["broker_events"] == 2
    for key in (
        "extra_story_records",
        "verdict_changes_on_redelivery",
        "copies_missed",
        "verdicts_differing_from_undisturbed",
        "pages_fetched_twice",
    ):
        assert isinstance(headline[key], int) and headline[key] >= 0, key
    assert report["headline"] == headline
    assert report["undisturbed"]["extra_story_records"] == 0
    assert report["disturbed"]["decided"] + report["disturbed"]["dead_lettered"] == 8
