"""`newswire cluster` offline: JSON lines in, verdicts and stories out."""

from __future__ import annotations

import json
import subprocess
import sys


def test_cluster_command(tmp_path: object) -> None:
    rows = [
        {"id": "1", "text": "Tara Reid checked into Promises Treatment Center in Malibu."},
        {"id": "2", "text": "tara reid checked into promises treatment center in malibu"},
        {
            "id": "3",
            "url": "http://e.example/x",
            "title": "T",
            "published": "2024-05-01T10:00:00Z",
            "text": "Markets fell sharply in Asia as investors fled risky assets on Monday.",
        },
    ]
    lines = "\n".join(json.dumps(r) for r in rows) + "\nnot json\n"
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", "cluster", "-"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("id") for o in out[:3]] == ["1", "2", "3"]
    assert out[0]["verdict"] == "new" and out[0]["duplicate_of"] is None
    assert (out[1]["verdict"], out[1]["duplicate_of"], out[1]["story_id"]) == (
        "duplicate",
        "1",
        "1",
    )
    assert out[2]["story_id"] == "3"
    assert set(out[0]) >= {"id", "verdict", "duplicate_of", "story_id"}
    assert "error" in out[3]
