"""/healthz answers while Faust replays changelogs; /readyz waits for the replay.

The app is started with Faust's own start sequence (mode's Service.start: first start,
children, then on_started, which waits for table recovery). Only the broker-facing
services (producer, consumer, agents, table manager) are left out: they need Kafka,
and recovery is stood in for by a wait this test controls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.common.faustapp import StageApp
from services.common.settings import Settings
from services.devtools.broker import free_port
from tests.conftest import get_json as get


async def wait_for_status(url: str, status: int, timeout_s: float = 10.0) -> int:
    """Poll until `url` answers `status`; return the last status seen."""
    seen = 0
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        seen, _ = await asyncio.to_thread(get, url)
        if seen == status:
            break
        await asyncio.sleep(0.1)
    return seen


@pytest.fixture
def stage_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[StageApp, asyncio.Event]:
    from services.cleaner.app import build

    settings = Settings(
        kafka_bootstrap="127.0.0.1:9",
        http_host="127.0.0.1",
        http_port=free_port(),
        data_dir=tmp_path,
    )
    sa = build(settings)
    recovered = asyncio.Event()

    async def slow_recovery() -> bool:
        await recovered.wait()
        return False  # False: the app was not stopped meanwhile

    monkeypatch.setattr(sa.app, "on_init_dependencies", lambda: [])
    monkeypatch.setattr(sa.app.tables, "wait_until_recovery_completed", slow_recovery)
    return sa, recovered


async def test_healthz_answers_before_recovery_completes(
    stage_app: tuple[StageApp, asyncio.Event],
) -> None:
    sa, recovered = stage_app
    base = f"http://127.0.0.1:{sa.health.port}"
    starting = asyncio.ensure_future(sa.app.start())
    try:
        assert await wait_for_status(f"{base}/healthz", 200) == 200
        assert not starting.done(), "the app finished starting: recovery was not waited for"
        assert await asyncio.to_thread(get, f"{base}/readyz") == (503, {"ready": False})
        recovered.set()
        await asyncio.wait_for(starting, 10)
        # on_started has run the app's tasks: none may start a second server (the port
        # is taken, which would crash the app).
        await asyncio.sleep(0.2)
        assert sa.app.crash_reason is None
        assert (await asyncio.to_thread(get, f"{base}/healthz"))[0] == 200
    finally:
        recovered.set()
        await sa.app.stop()
    assert (await asyncio.to_thread(get, f"{base}/healthz"))[0] == 0, "still serving after stop"


async def test_health_server_start_is_idempotent(
    stage_app: tuple[StageApp, asyncio.Event],
) -> None:
    sa, _ = stage_app
    await sa.health.start()
    try:
        await sa.health.start()  # a second bind of the same port would raise OSError
    finally:
        await sa.health.stop()
    await sa.health.stop()  # stopping twice (closer and service) is harmless
    assert (await asyncio.to_thread(get, f"http://127.0.0.1:{sa.health.port}/healthz"))[0] == 0
