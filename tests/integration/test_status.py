"""`newswire status` against a real cleaner process and the real broker: its health and
readiness, its group's lag, the dead letter it just wrote, by stage and reason, and the
DLQ's last minute counted from the cluster."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

from services.common.kafka import producer
from services.common.settings import PROJECT_ROOT, Settings
from services.devtools.stack import Stack

DEADLINE_S = 180.0


def status(settings: Settings, *services: str) -> tuple[int, dict[str, Any]]:
    env = {**os.environ, "NEWSWIRE_KAFKA_BOOTSTRAP": str(settings.kafka.bootstrap)}
    args = [sys.executable, "-m", "services.cli", "status", "--json"]
    for service in services:
        args += ["--service", service]
    done = subprocess.run(
        args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


async def send_garbage(settings: Settings, key: bytes) -> None:
    prod = producer(settings)
    await prod.start()
    try:
        await prod.send_and_wait("newswire.pages", key=key, value=b"\xff not a page")
    finally:
        await prod.stop()


def test_status_reports_a_real_cleaner_its_lag_and_its_dead_letters(
    stack: Stack, kafka_settings: Settings
) -> None:
    proc = stack.start_service("cleaner")
    url = f"http://127.0.0.1:{proc.port}"
    proc.wait_ready(DEADLINE_S)
    deadline = time.monotonic() + DEADLINE_S
    asyncio.run(send_garbage(kafka_settings, uuid.uuid4().hex.encode()))

    while True:
        code, got = status(kafka_settings, f"cleaner={url}")
        dlq = got["dlq"]
        assert isinstance(dlq, dict)
        if dlq["by_stage_and_reason"].get("cleaner", {}).get("decode", 0) >= 1:
            break
        assert time.monotonic() < deadline, got
        time.sleep(1)
    assert code == 0 and got["healthy"] is True, got
    (service,) = got["services"]
    assert service == {"name": "cleaner", "url": url, "healthy": True, "ready": True, "error": None}
    assert dlq["last_minute"] >= 1  # from the brokers' timestamps, not the metrics
    stages = got["stages"]
    assert isinstance(stages, dict)
    assert "newswire.pages" in stages["cleaner"]["lag"]

    # A service that is not there: reported, and the exit code says so.
    code, got = status(kafka_settings, f"cleaner={url}", "enricher=http://127.0.0.1:9")
    assert code == 1 and got["healthy"] is False
    enricher = [s for s in got["services"] if s["name"] == "enricher"]
    assert enricher[0]["healthy"] is None and enricher[0]["error"].startswith("unreachable")
