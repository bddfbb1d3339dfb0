"""The HTTP side of every service: /metrics, /healthz (alive) and /readyz (can work)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

from services.common.metrics import READY, REGISTRY

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"fetcher": 9101, "cleaner": 9102, "enricher": 9103, "dedup": 9104}


class HealthServer:
    """/metrics, /healthz and /readyz on host:port.

    With a `metrics_token`, /metrics answers 401 unless asked with
    "Authorization: Bearer <token>"; the probes stay open (kubelets send no token).
    """

    def __init__(
        self,
        host: str,
        port: int,
        ready: Callable[[], bool],
        metrics_token: SecretStr | None = None,
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.host = host
        self.port = port
        self._ready = ready
        self._alive = alive
        # Bytes, so the comparison is constant-time for any characters the token holds.
        secret = metrics_token.get_secret_value() if metrics_token is not None else ""
        self._expected = f"Bearer {secret}".encode() if secret else None
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    def _authorised(self, request: web.Request) -> bool:
        if self._expected is None:
            return True
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._expected)

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            # Nothing of what was sent is logged or echoed: it may be a near-miss token.
            return web.json_response(
                {"error": "unauthorized"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        READY.set(1 if self._ready() else 0)
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _healthz(self, _: web.Request) -> web.Response:
        # Failing only for what a restart cures (a stalled consumer): a broker outage
        # is /readyz's business, and restarting every worker for it would not help.
        if not self._alive():
            return web.json_response({"status": "stalled"}, status=503)
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        ok = self._ready()
        READY.set(1 if ok else 0)
        return web.json_response({"ready": ok}, status=200 if ok else 503)

    async def start(self) -> None:
        if self._runner is not None:  # already serving: a second bind would fail
            return
        runner = web.AppRunner(self._app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:  # port taken, say: nothing left half-started
            await runner.cleanup()
            raise
        self._runner = runner
        log.info(
            "serving /metrics%s /healthz /readyz on http://%s:%d",
            " (bearer token required)" if self._expected else "",
            self.host,
            self.port,
        )

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
