"""`newswire reprocess`'s arguments: a stage and a time are required."""

from __future__ import annotations

import pytest

from services.ops.reprocessargs import add_arguments


def test_the_command_needs_a_stage_and_a_time() -> None:
    import argparse

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--stage", "enricher", "--since", "2d", "--limit", "5", "--dry-run"])
    assert (args.stage, args.since, args.limit, args.dry_run) == ("enricher", "2d", 5, True)
    with pytest.raises(SystemExit):
        p.parse_args(["--stage", "dedup", "--since", "2d"])
    with pytest.raises(SystemExit):
        p.parse_args(["--stage", "cleaner"])
