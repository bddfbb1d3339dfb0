"""/readyz follows the partition assignment and table recovery; /healthz only says the
process is alive."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from faust.types import TP

from services.common.broker import free_port
from services.common.health import HealthServer
from services.common.settings import Settings
from tests.conftest import get_json as get


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return bytes(resp.read())


class FakeConsumer:
    def __init__(self) -> None:
        self.tps: set[TP] = set()

    def assignment(self) -> set[TP]:
        return self.tps


async def test_readyz_turns_ready_only_with_partitions_and_recovered_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from services.cleaner.app import build

    port = free_port()
    sa = build(Settings(kafka_bootstrap="127.0.0.1:9", http_port=port))
    fake = FakeConsumer()
    monkeypatch.setattr(type(sa.app), "consumer", property(lambda _: fake))
    server = HealthServer("127.0.0.1", port, sa.ready)
    await server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        status, body = await asyncio.to_thread(get, f"{base}/readyz")
        assert (status, body) == (503, {"ready": False})
        assert (await asyncio.to_thread(get, f"{base}/healthz"))[0] == 200
        fake.tps = {TP("newswire.pages", 0)}
        # Partitions held, but their changelogs are still being replayed: agents wait.
        status, body = await asyncio.to_thread(get, f"{base}/readyz")
        assert (status, body) == (503, {"ready": False})
        sa.recovery.completed.set()
        status, body = await asyncio.to_thread(get, f"{base}/readyz")
        assert (status, body) == (200, {"ready": True})
        # A replay after a later rebalance: not ready again until it ends.
        sa.recovery.in_recovery = True
        assert (await asyncio.to_thread(get, f"{base}/readyz"))[0] == 503
        sa.recovery.in_recovery = False
        metrics = await asyncio.to_thread(fetch, f"{base}/metrics")
        assert b"newswire_ready 1.0" in metrics
        # Partitions held, but the broker stopped answering the lag probe: not ready.
        sa._broker_probed = True
        sa._broker_ok_at -= 3600
        assert (await asyncio.to_thread(get, f"{base}/readyz"))[0] == 503
    finally:
        await server.stop()
