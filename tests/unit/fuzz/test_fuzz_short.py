"""`make fuzz` in miniature, inside the test suite: every target over its seeds and byte
mutations of them, a few structured inputs from each strategy, and the runner itself
(both engines on one target; a hang, a crash and a dying worker caught and saved)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from services.common.errors import NewswireError
from services.devtools import fuzz
from services.devtools.fuzzcorpus import seeds_for
from services.devtools.fuzzstrategies import strategy_for
from services.devtools.fuzztargets import ALL, TARGETS

# Structured cases per target: enough to reach every strategy branch now and then, few
# enough that the slow targets (extraction, enrichment) stay in seconds.
EXAMPLES = {
    "feeds": 25,
    "charset": 40,
    "extraction": 12,
    "cleaner-record": 12,
    "enrichment": 8,
    "dedup": 25,
    "models": 25,
}


def _outcome(target: str, data: bytes) -> str:
    try:
        TARGETS[target].run(data)
    except NewswireError as exc:
        return type(exc).__name__
    return "ok"


def _mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            op, at = rng.randrange(3), rng.randrange(len(b) + 1)
            if op == 0 and b:
                b[min(at, len(b) - 1)] = rng.randrange(256)
            elif op == 1:
                b[at:at] = rng.choice([b"<", b"&#0;", b"\x00", b"\xff\xfe", b'"', b"]]>", b"{"])
            else:
                del b[at : at + rng.randint(1, 64)]
        out.append(bytes(b))
    return out


def test_every_target_has_seeds_and_a_strategy() -> None:
    assert set(EXAMPLES) == set(ALL)
    for name in ALL:
        assert seeds_for(name), name
        strategy_for(name, seeds_for(name))


@pytest.mark.parametrize("target", ALL)
def test_seeds_and_their_mutations_are_handled(target: str) -> None:
    seeds = seeds_for(target)
    rng = random.Random(target)
    cases = [*seeds, *(m for s in seeds[:8] for m in _mutations(s, rng, 3))]
    outcomes = [_outcome(target, data) for data in cases]
    # The seeds are real documents: some must get through, or the target tests nothing.
    assert "ok" in outcomes


@pytest.mark.parametrize("target", ALL)
def test_structured_inputs_are_handled(target: str) -> None:
    outcomes: list[str] = []

    @settings(
        max_examples=EXAMPLES[target],
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy_for(target, seeds_for(target)))
    def run(data: bytes) -> None:
        outcomes.append(_outcome(target, data))

    run()
    assert len(outcomes) >= EXAMPLES[target]


def _run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    code = fuzz.main(
        [
            *args,
            "--out",
            str(tmp_path / "fuzz.json"),
            "--crash-dir",
            str(tmp_path / "crashes"),
            "--work-dir",
            str(tmp_path / "work"),
        ]
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    return code, json.loads(last)


def test_runner_both_engines_on_one_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, head = _run(tmp_path, capsys, "--target", "charset", "--cases", "300")
    report = json.loads((tmp_path / "fuzz.json").read_text())
    charset = report["targets"]["charset"]
    assert (code, head["crashes"], head["hangs"], head["errors"]) == (0, 0, 0, [])
    assert head["targets"]["charset"]["cases"] == 300
    assert {e: v["cases"] for e, v in charset["engines"].items()} == {
        "atheris": 225,
        "hypothesis": 75,
    }
    assert charset["rss_start_mb"] > 0 and charset["rss_end_mb"] > 0
    # Both engines reach the typed refusal for a page that is no page.
    assert charset["exception_types"].get("UnsupportedContentError", 0) > 0


def test_runner_catches_a_crash_a_hang_and_a_dying_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, head = _run(
        tmp_path,
        capsys,
        *("--target", "selftest", "--engines", "hypothesis", "--cases", "15"),
        *("--case-timeout", "1"),
    )
    result = head["targets"]["selftest"]
    assert code == 1
    assert result["cases"] == 15
    assert result["hangs"] >= 1 and result["crashes"] >= 1
    saved = {
        p.read_bytes(): p.name.split("-")[0]
        for p in (tmp_path / "crashes" / "selftest").glob("*.bin")
    }
    assert saved[b"hang"] == "hang" and saved[b"crash"] == "crash"
    # Every saved input is named for what it did ("die" kills the worker: "died").
    kinds = {b"hang": "hang", b"crash": "crash", b"die": "died"}
    assert {kinds[data] for data in saved} == set(saved.values())
