"""The slim fetcher image (deploy/docker/Dockerfile, target `fetcher`) installs a lock that
covers every package the fetcher's code imports, without building it: the imports are
read from the source (services.devtools.importgraph) and mapped to distributions with
this environment's metadata. `make test-image` then imports them inside the image."""

from __future__ import annotations

import re
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from services.common.settings import PROJECT_ROOT
from services.devtools.importgraph import imported_names, walk
from services.devtools.lockfile import normalize, parse

pytestmark = pytest.mark.unit

DOCKERFILE = PROJECT_ROOT / "deploy" / "docker" / "Dockerfile"
REQUIREMENTS = PROJECT_ROOT / "requirements"
FETCHER_LOCK = REQUIREMENTS / "fetcher.txt"
# What the one image has and the fetcher must not need: the reason for a slim image.
NLP_STACK = {"spacy", "onnxruntime", "numpy", "trafilatura", "tokenizers", "yake", "rocksdict"}


def stages() -> dict[str, list[tuple[str, str]]]:
    """Each stage's instructions (continuations joined, comments dropped), by name."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            current = out.setdefault(rest.split()[-1], [])
        if current is not None:
            current.append((word.upper(), " ".join(rest.split())))
    return out


def lock_packages(path: Path) -> dict[str, str]:
    return {name: req.version for name, req in parse(path.read_text()).items()}


def test_the_fetcher_target_installs_the_fetcher_lock() -> None:
    all_stages = stages()
    fetcher = all_stages["fetcher"]
    (source,) = [rest for word, rest in fetcher if word == "COPY" and rest.startswith("--from")]
    build_stage = source.split()[0].removeprefix("--from=")
    build = " ".join(rest for _word, rest in all_stages[build_stage])
    assert "requirements/fetcher.txt" in build and "--require-hashes" in build
    assert "runtime.txt" not in build
    # The one image stays the default (last) target.
    assert list(all_stages)[-1] == "runtime"


def test_the_fetcher_stage_is_the_runtime_stage_with_its_own_venv() -> None:
    """Two copies of the runtime settings (user, read-only friendly env, stop signal,
    health check) must not drift apart."""
    all_stages = stages()

    def comparable(stage: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [
            (word, re.sub(r"--from=\S+", "--from=VENV", rest))
            for word, rest in stage
            if word not in ("FROM", "LABEL")
        ]

    assert comparable(all_stages["fetcher"]) == comparable(all_stages["runtime"])


def test_the_fetcher_reaches_no_other_service() -> None:
    graph = walk()
    assert "services.fetcher.app" in graph.modules and "services.common.kafka" in graph.modules
    for other in ("cleaner", "enricher", "dedup", "devtools", "backfill", "ops"):
        assert not any(m.startswith(f"services.{other}") for m in graph.modules), other


def test_the_fetcher_lock_covers_every_package_the_fetcher_imports() -> None:
    """Each top-level module the fetcher imports belongs to a distribution in the lock."""
    dists = packages_distributions()
    locked = lock_packages(FETCHER_LOCK)
    missing = {}
    for top in sorted(walk().top_level):
        names = dists.get(top)
        assert names, f"the fetcher imports {top}, which no installed distribution provides"
        if not any(normalize(name) in locked for name in names):
            missing[top] = names
    assert not missing, f"requirements/fetcher.txt lacks what the fetcher imports: {missing}"


def test_the_fetcher_lock_leaves_out_the_nlp_stack() -> None:
    assert not NLP_STACK & set(lock_packages(FETCHER_LOCK))


def test_the_fetcher_lock_agrees_with_the_runtime_lock() -> None:
    """Same versions and a subset of the hashes: `make lock` compiles fetcher.txt with
    runtime.txt as a constraint (a stale fetcher.txt fails here: run `make lock`)."""
    fetcher = parse(FETCHER_LOCK.read_text())
    runtime = parse((REQUIREMENTS / "runtime.txt").read_text())
    for name, req in fetcher.items():
        assert name in runtime, f"{name} is in fetcher.txt but not in runtime.txt"
        assert req.version == runtime[name].version, (name, req.version, runtime[name].version)
        assert set(req.hashes) <= set(runtime[name].hashes), name
    wanted = [
        line.split("#")[0].strip()
        for line in (REQUIREMENTS / "fetcher.in").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert wanted and all(normalize(name) in fetcher for name in wanted)


def test_imported_names_resolve_relative_imports_and_skip_type_checking() -> None:
    source = """
from __future__ import annotations
import os, aiohttp.web
from typing import TYPE_CHECKING
from . import sibling
from ..common import settings
from .pkg.mod import thing
if TYPE_CHECKING:
    import onlytypes
def later():
    import lazy.module
"""
    names = imported_names(source, "services.fetcher.app", is_package=False, top_only=False)
    assert {"aiohttp.web", "services.fetcher.sibling", "services.common.settings"} <= set(names)
    assert "services.fetcher.pkg.mod.thing" in names and "lazy.module" in names
    assert "onlytypes" not in names
    shallow = imported_names(source, "services.fetcher.app", is_package=False, top_only=True)
    assert "lazy.module" not in shallow and "aiohttp.web" in shallow
    # In a package's __init__, `.` is the package itself.
    init = imported_names("from . import x", "services.fetcher", is_package=True, top_only=False)
    assert "services.fetcher.x" in init
