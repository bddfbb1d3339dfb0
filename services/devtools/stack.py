"""The whole pipeline on one machine: broker, seed server and the four services as processes.

`newswire run` (and so `make run`) and the end-to-end tests both start it from here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.common.settings import PROJECT_ROOT
from services.devtools.broker import LocalBroker, free_port, start_broker

SERVICES = ("fetcher", "cleaner", "enricher", "dedup")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    def alive(self) -> bool:
        return self.popen.poll() is None

    def ready(self) -> bool:
        """Whether its /readyz answers 200 now."""
        return self._answers("/readyz")

    def healthy(self) -> bool:
        """Whether its /healthz (liveness) answers 200 now."""
        return self._answers("/healthz")

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def assignments(self) -> list[str]:
        """The "assigned:" lines this process logged (several processes share one log
        file; each line names its process), oldest first."""
        mine = f"[{self.popen.pid}] [INFO] assigned:"
        return [ln for ln in self.log.read_text().splitlines() if mine in ln]

    def held(self, topic: str) -> list[int]:
        """The partitions of `topic` this worker last reported holding."""
        lines = self.assignments()
        part = (lines[-1] if lines else "").partition(f"{topic} [")[2].partition("]")[0]
        return [int(p) for p in part.split(",") if p.strip()]

    def wait_ready(self, timeout: float) -> None:
        """Until /readyz answers 200; raises when it dies or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if not self.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready: {self.log.read_text()[-2000:]}")
            time.sleep(0.5)


@dataclass
class Stack:
    bootstrap: str
    seeds_url: str
    run_dir: Path
    broker: LocalBroker | None = None
    procs: dict[str, Proc] = field(default_factory=dict)

    def metrics_url(self, service: str) -> str:
        port = self.procs[service].port
        return f"http://127.0.0.1:{port}/metrics"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "NEWSWIRE_KAFKA_BOOTSTRAP": self.bootstrap,
                "NEWSWIRE_SEEDS_URL": self.seeds_url,
                # The seed server is on loopback, which the fetcher refuses unless told.
                "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "true",
                "NEWSWIRE_DATA_DIR": str(self.run_dir / "data"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra or {})
        return env

    def start_service(
        self, name: str, extra_env: dict[str, str] | None = None, *, service: str | None = None
    ) -> Proc:
        """Start `service` (by default `name`) as the process called `name`. Several of one
        service side by side (other names) get their own HTTP port and table folder."""
        port = free_port()
        log = self.run_dir / f"{name}.log"
        own = {"NEWSWIRE_HTTP_PORT": str(port)}
        if service is not None and service != name:
            own["NEWSWIRE_DATA_DIR"] = str(self.run_dir / f"data-{name}")
        env = self.env({**own, **(extra_env or {})})
        popen = subprocess.Popen(
            [sys.executable, "-m", f"services.{service or name}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        proc = Proc(name, popen, log, port)
        self.procs[name] = proc
        return proc

    def stop_service(
        self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0
    ) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.popen.pid, sig)
        try:
            return proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
            return proc.popen.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_service(name)
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


def start_seed_server(run_dir: Path, root: Path) -> tuple[Proc, str]:
    port = free_port()
    log = run_dir / "seeds.log"
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "serve-seeds",
            "--root",
            str(root),
            "--port",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/feeds.yaml", 20.0, popen)
    return Proc("seeds", popen, log, port), base


def wait_http(url: str, timeout: float, popen: subprocess.Popen[bytes] | None = None) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            raise RuntimeError(f"process serving {url} exited with {popen.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
            if resp.status < 500:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def start_stack(
    run_dir: Path,
    *,
    seeds_root: Path = PROJECT_ROOT / "seeds",
    services: tuple[str, ...] = SERVICES,
    bootstrap: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """Start (or reuse) a broker, the seed server and the services; the caller stops it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    broker = None
    bootstrap = bootstrap or os.environ.get("NEWSWIRE_KAFKA_BOOTSTRAP")
    if not bootstrap:
        broker = start_broker()
        bootstrap = broker.bootstrap
    seeds, base = start_seed_server(run_dir, seeds_root)
    stack = Stack(bootstrap=bootstrap, seeds_url=base, run_dir=run_dir, broker=broker)
    stack.procs["seeds"] = seeds
    try:
        for name in services:
            stack.start_service(name, extra_env)
    except BaseException:
        stack.stop()
        raise
    return stack
