"""The image test's pure parts: podman's command lines, the tools it installs, and the
check that the seeds' stories came out grouped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.common.urls import article_id
from services.devtools import newsroom, podman, storycheck
from services.devtools.imagetest import container_env
from services.devtools.stack import Stack

BASE = "http://127.0.0.1:8123"


def test_missing_packages_names_the_debian_package_of_each_missing_command() -> None:
    found: dict[str, str | None] = {cmd: f"/usr/bin/{cmd}" for cmd in podman.TOOLS}
    assert podman.missing_packages(found) == []
    found["newuidmap"] = None
    found["podman"] = None
    assert podman.missing_packages(found) == ["podman", "uidmap"]
    hint = podman.install_hint(["podman", "uidmap"])
    assert "apt-get install -y podman uidmap" in hint and "root" in hint


def test_every_podman_call_uses_runc_cgroupfs_and_explicit_ulimits() -> None:
    build = podman.build_args(
        "deploy/docker/Dockerfile", "newswire:t", base_image="localhost/base:1", target="fetcher"
    )
    run = podman.run_args(
        "c1", "newswire:t", ["dedup"], env={"B": "2", "A": "1"}, data_dir=Path("/d")
    )
    for args in (build, run):
        assert args[: len(podman.PODMAN)] == list(podman.PODMAN)
        assert args.count("--ulimit") == 2 and "nofile=1024:1024" in args
    assert build[-1] == "." and build[build.index("--target") + 1] == "fetcher"
    assert "PYTHON_IMAGE=localhost/base:1" in build
    assert "--target" not in podman.build_args("f", "t", base_image="b")


def test_containers_run_read_only_as_10001_with_a_data_volume() -> None:
    run = podman.run_args(
        "c1", "newswire:t", ["dedup"], env={"B": "2", "A": "1"}, data_dir=Path("/d")
    )
    assert "--read-only" in run and run[run.index("--user") + 1] == "10001:10001"
    assert run[run.index("--network") + 1] == "host"
    assert "/d:/var/lib/newswire" in run
    # The environment in a stable order, the image and its command last.
    assert [run[i + 1] for i, a in enumerate(run) if a == "-e"] == ["A=1", "B=2"]
    assert run[-2:] == ["newswire:t", "dedup"]


def test_container_env_points_at_the_stack_and_a_loopback_port() -> None:
    stack = Stack(bootstrap="127.0.0.1:9092", seeds_url=BASE, run_dir=Path("/tmp/x"))
    env = container_env(stack, 9555)
    assert env["NEWSWIRE_KAFKA_BOOTSTRAP"] == "127.0.0.1:9092"
    assert env["NEWSWIRE_SEEDS_URL"] == BASE
    assert env["NEWSWIRE_HTTP_HOST"] == "127.0.0.1" and env["NEWSWIRE_HTTP_PORT"] == "9555"
    # The image's own data dir and feed list stay: the container is run as shipped.
    assert "NEWSWIRE_DATA_DIR" not in env and "NEWSWIRE_FEEDS_FILE" not in env


def story(aid: str, sid: str, version: int = 1) -> dict[str, Any]:
    return {"article_id": aid, "story_id": sid, "verdict": "new", "version": version}


@pytest.fixture(scope="module")
def expected() -> list[storycheck.Expected]:
    return storycheck.expected_stories(BASE, newsroom.load())


def test_expected_stories_are_the_seed_and_each_newsroom_story_of_several(
    expected: list[storycheck.Expected],
) -> None:
    room = newsroom.load()
    several = [s for s, arts in room.stories().items() if len(arts) > 1]
    assert [e.name for e in expected] == [storycheck.SEED_STORY, *several]
    assert len(several) >= 4  # four events and the syndicated wire story, at least
    seed = expected[0].article_ids
    assert article_id(f"{BASE}{storycheck.SEED_ARTICLE_PATH}") in seed and len(seed) == 2
    for e in expected[1:]:
        paths = [a.path for a in room.stories()[e.name]]
        assert e.article_ids == {article_id(f"{BASE}/{p}") for p in paths}


def all_records(expected: list[storycheck.Expected]) -> list[dict[str, Any]]:
    return [story(a, e.name) for e in expected for a in sorted(e.article_ids)]


def test_progress_waits_for_missing_articles(expected: list[storycheck.Expected]) -> None:
    records = all_records(expected)
    missing = records.pop(0)
    progress = storycheck.check(records, expected)
    assert not progress.done and not progress.ok
    assert progress.waiting == {storycheck.SEED_STORY: 1}
    assert storycheck.check([*records, missing], expected).ok


def test_progress_fails_a_story_split_over_two_ids(expected: list[storycheck.Expected]) -> None:
    records = all_records(expected)
    name = expected[1].name
    first = next(r for r in records if r["story_id"] == name)
    first["story_id"] = "another"
    progress = storycheck.check(records, expected)
    assert progress.done and not progress.ok
    assert progress.split == {name: 2}
    assert name not in progress.complete


def test_an_update_keeps_the_articles_first_story(expected: list[storycheck.Expected]) -> None:
    records = all_records(expected)
    later = story(records[0]["article_id"], "elsewhere", version=2)
    # Not story records (a DLQ line, a tombstone) are skipped, not counted.
    progress = storycheck.check([*records, later, None, {"x": 1}], expected)
    assert progress.ok and progress.records == len(records) + 1
    assert progress.stories == len(expected) + 1
    assert progress.summary()["checked"] == len(expected)


def test_without_root_it_names_what_to_install_and_installs_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tools: dict[str, str | None] = {cmd: None for cmd in podman.TOOLS}
    monkeypatch.setattr(podman, "find_tools", lambda: tools)
    ran: list[object] = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: ran.append(a))
    with pytest.raises(podman.ImageTestError, match="apt-get install -y debootstrap"):
        podman.ensure_tools(is_root=False, log=lambda _msg: None)
    assert ran == []
