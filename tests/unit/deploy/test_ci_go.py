"""`.ci/run go`: which Go the helm build gets, without downloading a real toolchain.

Each case puts fake `go` commands on a PATH without the machine's own Go and points
GOPROXY (the environment's, or a fake old Go's `go env GOPROXY`) at a local server or
nowhere, so a download attempt shows in the result.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.settings import PROJECT_ROOT

CI_RUN = PROJECT_ROOT / ".ci" / "run"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a fetch attempt fails


def fake_go(bindir: Path, version: str, goproxy: str = "off") -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    go = bindir / "go"
    go.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f"  'env GOVERSION') echo {version} ;;\n"
        f"  'env GOPROXY') echo '{goproxy}' ;;\n"
        f"  version*) echo 'go version {version} fake' ;;\n"
        "esac\n"
    )
    go.chmod(0o755)


def ci_go(
    tmp_path: Path, path_dirs: list[Path], proxy: str | None, system_path: bool = True
) -> subprocess.CompletedProcess[str]:
    system = ["/usr/bin", "/bin"] if system_path else []
    env = {
        "HOME": str(tmp_path),
        "PATH": os.pathsep.join([*map(str, path_dirs), *system]),
        "GO_DIR": str(tmp_path / "cache" / "go"),
    }
    if proxy is not None:
        env["GOPROXY"] = proxy
    return subprocess.run(
        ["bash", str(CI_RUN), "go"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("version", ["go1.24.0", "go1.26.8"])
def test_installed_go_new_enough_is_used_as_is(tmp_path: Path, version: str) -> None:
    fake_go(tmp_path / "installed", version)
    proc = ci_go(tmp_path, [tmp_path / "installed"], NOWHERE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"go version {version} fake"
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("installed", ["go1.19.8", "go1.23.12", None])
def test_old_or_missing_go_uses_an_earlier_download(tmp_path: Path, installed: str | None) -> None:
    path = []
    if installed:
        fake_go(tmp_path / "installed", installed)
        path.append(tmp_path / "installed")
    fake_go(tmp_path / "cache" / "go" / "bin", "go1.24.13")
    proc = ci_go(tmp_path, path, NOWHERE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "go version go1.24.13 fake"


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[str]:
    """A module proxy whose toolchain zips are not the pinned ones."""
    root = tmp_path / "proxy"
    versions = root / "golang.org" / "toolchain" / "@v"
    versions.mkdir(parents=True)
    for arch in ("amd64", "arm64"):
        (versions / f"v0.0.1-go1.24.13.linux-{arch}.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_download_not_matching_the_pin_is_refused(tmp_path: Path, proxy: str) -> None:
    fake_go(tmp_path / "installed", "go1.19.8")
    proc = ci_go(tmp_path, [tmp_path / "installed"], proxy)
    assert proc.returncode != 0
    # Refused by the checksum (amd64), or for want of a pin (other machines).
    assert "did NOT match" in proc.stderr or "no pinned Go toolchain" in proc.stderr, proc.stderr
    assert not (tmp_path / "cache" / "go").exists()
    assert not list((tmp_path / "cache").glob("go.*")), "temporary download left behind"


def test_without_goproxy_the_installed_gos_setting_is_used(tmp_path: Path, proxy: str) -> None:
    # "direct" fetches no module zips: the first URL after it is the proxy.
    fake_go(tmp_path / "installed", "go1.19.8", goproxy=f"direct,{proxy}|off")
    proc = ci_go(tmp_path, [tmp_path / "installed"], None)
    assert proc.returncode != 0
    assert f"from {proxy} into" in proc.stdout, proc.stdout + proc.stderr
    assert "did NOT match" in proc.stderr or "no pinned Go toolchain" in proc.stderr, proc.stderr


@pytest.mark.parametrize("goproxy", [None, "off", "direct"])
def test_no_go_and_no_proxy_fails_with_a_clear_message(tmp_path: Path, goproxy: str | None) -> None:
    # Only the commands the script runs, so a Debian Go in /usr/bin stays out of sight.
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in (
        "bash",
        "dirname",
        "sort",
        "uname",
        "mkdir",
        "mktemp",
        "curl",
        "sha256sum",
        "python3",
        "rm",
        "mv",
        "cat",
    ):
        found = shutil.which(name)
        assert found, f"{name} is not installed"
        (tools / name).symlink_to(found)
    proc = ci_go(tmp_path, [tools], goproxy, system_path=False)
    assert proc.returncode != 0
    if "no pinned Go toolchain" not in proc.stderr:
        assert "Install Go >= 1.24 and put it on PATH, or set GOPROXY" in proc.stderr, proc.stderr
    assert not (tmp_path / "cache").exists(), "nothing is downloaded without a proxy"
