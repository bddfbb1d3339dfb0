"""/readyz follows the partition assignment and table recovery; /healthz only says the
process is alive."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from faust.types import TP

from services.common.health import HealthServer
from services.common.settings import Settings
from services.devtools.broker import free_port
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


TOKEN = "s3cr3t-metrics-token-7"


def status_of(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, bytes(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, bytes(err.read())


async def test_metrics_token_guards_metrics_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    import logging

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NEWSWIRE_METRICS_TOKEN", TOKEN)
    settings = Settings()
    assert settings.http.metrics_token is not None
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())

    port = free_port()
    server = HealthServer(
        "127.0.0.1", port, lambda: True, metrics_token=settings.http.metrics_token
    )
    await server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        asked = [
            ({}, 401),
            ({"Authorization": "Bearer"}, 401),
            ({"Authorization": f"Bearer {TOKEN[:-1]}"}, 401),
            ({"Authorization": f"Bearer {TOKEN}x"}, 401),
            ({"Authorization": f"Basic {TOKEN}"}, 401),
            ({"Authorization": "Bearer ünïcode"}, 401),
            ({"Authorization": f"Bearer {TOKEN}"}, 200),
        ]
        for headers, expected in asked:
            status, body = await asyncio.to_thread(status_of, f"{base}/metrics", headers)
            assert status == expected, headers
            assert (b"newswire_ready" in body) == (expected == 200)
            assert TOKEN.encode() not in body
        # Probes carry no token: they stay open.
        assert (await asyncio.to_thread(status_of, f"{base}/healthz"))[0] == 200
        assert (await asyncio.to_thread(status_of, f"{base}/readyz"))[0] == 200
    finally:
        await server.stop()
    logged = [r.getMessage() for r in caplog.records]
    assert any("bearer token required" in line for line in logged), logged
    assert not [line for line in logged if TOKEN in line or TOKEN[:-1] in line]


async def test_no_token_leaves_metrics_open() -> None:
    import asyncio

    port = free_port()
    server = HealthServer("127.0.0.1", port, lambda: False)
    await server.start()
    try:
        status, body = await asyncio.to_thread(status_of, f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and b"newswire_ready 0.0" in body
    finally:
        await server.stop()


async def test_serves_on_the_bind_address_only() -> None:
    """127.0.0.1 means loopback only: another address of this machine gets no answer."""
    import asyncio
    import socket

    port = free_port()
    server = HealthServer("127.0.0.1", port, lambda: True)
    await server.start()
    try:
        assert (await asyncio.to_thread(status_of, f"http://127.0.0.1:{port}/healthz"))[0] == 200
        # 127.0.0.2 reaches this machine too (all of 127/8 is loopback on Linux): a
        # server bound to 0.0.0.0 would answer there.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", port), timeout=5).close()
    finally:
        await server.stop()
