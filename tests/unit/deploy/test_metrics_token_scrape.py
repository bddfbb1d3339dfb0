"""A real Prometheus scrapes a real /metrics with the compose stack's token wiring.

deploy/prometheus/prometheus.yml sends a bearer token read from a file, which compose.yml
writes from NEWSWIRE_METRICS_TOKEN (empty when unset). Debian's Prometheus, given those
scrape settings, scrapes HealthServer on loopback: with no token on either side (the
default stack), with the same token on both, and with a token only on the service (the
one misconfiguration that must show, as a target down).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from pydantic import SecretStr

from services.common.health import HealthServer
from services.common.settings import PROJECT_ROOT, Settings
from services.devtools.broker import free_port

PROMETHEUS_YML = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"
WAIT_S = 120.0


def compose_authorization() -> dict[str, Any]:
    """The authorization block every newswire-* job of the compose Prometheus uses."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    blocks = [
        job["authorization"]
        for job in config["scrape_configs"]
        if job["job_name"].startswith("newswire-")
    ]
    assert len(blocks) == 4 and all(block == blocks[0] for block in blocks), blocks
    block: dict[str, Any] = blocks[0]
    return block


async def wait_for_targets(
    session: aiohttp.ClientSession, url: str, jobs: set[str], proc: asyncio.subprocess.Process
) -> dict[str, dict[str, Any]]:
    """Each job's target once Prometheus has scraped it at least once."""
    deadline = time.monotonic() + WAIT_S
    targets: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        assert proc.returncode is None, "prometheus exited; see prometheus.log"
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError):
            body = None
        if body is not None:
            targets = {t["labels"]["job"]: t for t in body["data"]["activeTargets"]}
            if set(targets) == jobs and all(t["health"] != "unknown" for t in targets.values()):
                return targets
        # Prometheus's API has no way to wait for a scrape: ask again (the deadline bounds it).
        await asyncio.sleep(0.5)
    pytest.fail(f"Prometheus did not scrape every target within {WAIT_S:.0f}s: {targets}")


async def test_compose_token_wiring_with_a_real_prometheus(tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is not installed (make tools installs Debian's package)"
    auth = compose_authorization()
    assert auth["type"] == "Bearer"
    # name: (the service's token, what compose.yml's printf '%s' writes for Prometheus)
    cases: dict[str, tuple[SecretStr | None, str]] = {
        # compose.yml's ${NEWSWIRE_METRICS_TOKEN:-} unset: an empty variable, no token.
        "no-token": (Settings(metrics_token="").http.metrics_token, ""),
        "token": (SecretStr("s3cret-token"), "s3cret-token"),
        "token-only-on-the-service": (SecretStr("s3cret-token"), ""),
    }
    servers: list[HealthServer] = []
    jobs: list[dict[str, Any]] = []
    for name, (token, written) in cases.items():
        port = free_port()
        server = HealthServer("127.0.0.1", port, ready=lambda: True, metrics_token=token)
        await server.start()
        servers.append(server)
        token_file = tmp_path / f"{name}.token"
        token_file.write_text(written)
        jobs.append(
            {
                "job_name": f"newswire-{name}",
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "authorization": {**auth, "credentials_file": str(token_file)},
                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            }
        )
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(json.dumps({"scrape_configs": jobs}))
    web = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "prometheus.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        prometheus,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address={web}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    try:
        async with aiohttp.ClientSession() as session:
            targets = await wait_for_targets(
                session,
                f"http://{web}/api/v1/targets",
                {job["job_name"] for job in jobs},
                proc,
            )
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
        log.close()
        for server in servers:
            await server.stop()
    health = {job: (t["health"], t["lastError"]) for job, t in targets.items()}
    # The default stack: an empty file makes Prometheus send "Bearer " alone, which a
    # service without a token does not look at.
    assert health["newswire-no-token"] == ("up", ""), health
    assert health["newswire-token"] == ("up", ""), health
    state, error = health["newswire-token-only-on-the-service"]
    assert state == "down" and "401" in error, health
