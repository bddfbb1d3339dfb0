"""Podman as it runs on these machines (../shared/CONTAINERS.md): the command lines, the
tools it needs, and the Debian-built stand-in for python:3.11-slim-bookworm.

The kernel here has hybrid cgroups and a low hard limit on open files, so every podman
call goes through runc with cgroupfs, and every container gets explicit ulimits
(podman's defaults and crun both fail with "Operation not permitted"). The argument
builders are pure; `run` and the base-image build call out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import NewswireError

PODMAN = ("podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs")
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
# What python:3.11-slim-bookworm is built from: Debian's own Python 3.11.
BASE_TAG = "localhost/newswire-bookworm-python:3.11"
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
DEBIAN_SUITE = "bookworm"
# Left out of the base as python:3.11-slim leaves them out: package caches and lists,
# documentation.
BASE_PRUNE = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
)

# Debian package per command: what `apt-get install` brings in on a fresh machine.
TOOLS = {
    "podman": "podman",
    "debootstrap": "debootstrap",
    "runc": "runc",
    "newuidmap": "uidmap",
    "fuse-overlayfs": "fuse-overlayfs",
    "slirp4netns": "slirp4netns",
}


class ImageTestError(NewswireError):
    """The image test could not set itself up or a check failed outright."""


def missing_packages(which: Mapping[str, str | None]) -> list[str]:
    """The Debian packages to install, given where each of TOOLS' commands was found."""
    return sorted({TOOLS[cmd] for cmd in TOOLS if not which.get(cmd)})


def find_tools() -> dict[str, str | None]:
    # /usr/sbin is not on every PATH (newuidmap lives in /usr/bin, debootstrap in /usr/sbin).
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return {cmd: shutil.which(cmd, path=path) for cmd in TOOLS}


def install_hint(packages: Sequence[str]) -> str:
    return (
        f"make test-image needs podman and its helpers; missing Debian packages: "
        f"{' '.join(packages)}. Run as root (it installs them itself) or: "
        f"sudo apt-get install -y {' '.join(packages)}"
    )


def ensure_tools(*, is_root: bool, log: Callable[[str], None]) -> list[str]:
    """Install what is missing when root; raise with what to install otherwise.
    Returns the packages installed."""
    packages = missing_packages(find_tools())
    if not packages:
        return []
    if not is_root:
        raise ImageTestError(install_hint(packages))
    log(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
    still = missing_packages(find_tools())
    if still:
        raise ImageTestError(f"still missing after apt-get install: {' '.join(still)}")
    return packages


def build_args(
    dockerfile: str,
    tag: str,
    *,
    base_image: str,
    target: str | None = None,
    certs: str = "/etc/ssl/certs",
) -> list[str]:
    """`podman build` for the project's Dockerfile on the stand-in base. The build's pip
    reaches the package index through the host's network and trusts the host's CA
    bundle (pip verifies with the system store)."""
    args = [*PODMAN, "build", "--network", "host", *ULIMITS, "-v", f"{certs}:{certs}:ro"]
    args += ["--build-arg", f"PYTHON_IMAGE={base_image}", "-f", dockerfile, "-t", tag]
    if target:
        args += ["--target", target]
    return [*args, "."]


def run_args(
    name: str,
    image: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    data_dir: Path,
    user: str = "10001:10001",
) -> list[str]:
    """`podman run` as a cluster would run a service: read-only root, a tmpfs /tmp, the
    image's non-root user (named explicitly, so a changed USER fails the test rather
    than running as root), a writable data volume, the host's network (the broker and
    the seed server listen on 127.0.0.1)."""
    args = [*PODMAN, "run", "--name", name, "--network", "host", "--read-only"]
    args += ["--tmpfs", "/tmp", *ULIMITS, "--user", user]
    args += ["-v", f"{data_dir}:/var/lib/newswire"]
    for key in sorted(env):
        args += ["-e", f"{key}={env[key]}"]
    return [*args, image, *command]


def podman(*args: str, check: bool = True, timeout: float = 600.0) -> str:
    done = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise ImageTestError(f"podman {' '.join(args)}: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def image_exists(tag: str) -> bool:
    return subprocess.run([*PODMAN, "image", "exists", tag], check=False).returncode == 0


def image_size(tag: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", tag))


@dataclass(frozen=True)
class BaseImage:
    tag: str
    source: str  # "podman" (already there), "cache" (imported from .cache), "debootstrap"
    seconds: float


def ensure_base_image(cache_dir: Path, log: Callable[[str], None]) -> BaseImage:
    """The stand-in base image: podman's copy when present, else the tarball cached
    under `cache_dir`, else one built with debootstrap (and cached for next time)."""
    started = time.monotonic()
    if image_exists(BASE_TAG):
        return BaseImage(BASE_TAG, "podman", time.monotonic() - started)
    tarball = cache_dir / f"{DEBIAN_SUITE}-python-3.11.tar"
    source = "cache"
    if not tarball.exists():
        source = "debootstrap"
        log(f"building the base image with debootstrap ({DEBIAN_SUITE}, Python 3.11)")
        build_rootfs_tarball(tarball)
    podman("import", str(tarball), BASE_TAG)
    return BaseImage(BASE_TAG, source, time.monotonic() - started)


def build_rootfs_tarball(tarball: Path) -> None:
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                DEBIAN_SUITE,
                str(rootfs),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for sub in BASE_PRUNE:
            target = rootfs / sub
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.replace(tarball)
