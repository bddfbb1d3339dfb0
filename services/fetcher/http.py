"""The fetcher's HTTP client. One place owns HTTP semantics: validators, redirects, limits.

Every request goes through the SSRF guard, follows redirects by hand (each hop
is checked), caps the body and counts the outcome by status class.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit

import aiohttp

from services.common import metrics
from services.common.errors import FetchError, HttpStatusError, TooLargeError
from services.common.settings import Settings
from services.fetcher.guard import GuardedResolver, check_host_literal

Kind = Literal["feed", "page", "robots"]
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024


@dataclass
class Response:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"' ")
        return None


class HttpClient:
    """A pooled aiohttp session with Newswire's limits; create and close it in one loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            s = self.settings
            # No per-host connection limit here: aiohttp hands a released connection back
            # to the task that released it before queued waiters run, so with its
            # limit_per_host most requests to a busy host starve until their total
            # timeout (seen in bench-fetcher). Per-host load is bounded by design instead:
            # one feed poll at a time per worker, and HostGate's one page request per host.
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=s.allow_private_networks),
                limit=s.fetch_connections,
                limit_per_host=0,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=s.fetch_total_timeout,
                    sock_connect=s.fetch_connect_timeout,
                    sock_read=s.fetch_read_timeout,
                ),
                headers={"User-Agent": s.user_agent},
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(
        self,
        url: str,
        *,
        kind: Kind,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Response:
        """GET with redirects followed by hand; 304 is returned, other 4xx/5xx raise."""
        headers = {"Accept": _ACCEPT[kind]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        redirects: list[str] = []
        current = url
        for _ in range(self.settings.fetch_max_redirects + 1):
            _check_url(current, self.settings.allow_private_networks)
            started = time.perf_counter()
            try:
                async with self._get_session().get(
                    current, headers=headers, allow_redirects=False
                ) as resp:
                    if resp.status in REDIRECT_STATUSES and "Location" in resp.headers:
                        metrics.FETCH_REQUESTS.labels(kind, metrics.status_class(resp.status)).inc()
                        redirects.append(current)
                        current = urljoin(current, resp.headers["Location"])
                        continue
                    body = await self._read_capped(resp, kind)
                    result = Response(
                        url=url,
                        final_url=current,
                        status=resp.status,
                        headers={k.lower(): v for k, v in resp.headers.items()},
                        body=body,
                        redirects=redirects,
                    )
            except FetchError:
                metrics.FETCH_REQUESTS.labels(kind, "error").inc()
                raise
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                metrics.FETCH_REQUESTS.labels(kind, "error").inc()
                raise FetchError(f"{type(exc).__name__}: {exc}", reason=_error_reason(exc)) from exc
            finally:
                metrics.FETCH_SECONDS.labels(kind).observe(time.perf_counter() - started)
            metrics.FETCH_REQUESTS.labels(kind, metrics.status_class(result.status)).inc()
            metrics.FETCH_BYTES.labels(kind).inc(len(result.body))
            if result.status == 304 or 200 <= result.status < 300:
                return result
            raise HttpStatusError(
                f"HTTP {result.status} for {current}", status=result.status, headers=result.headers
            )
        raise FetchError(
            f"more than {self.settings.fetch_max_redirects} redirects", reason="redirects"
        )

    async def _read_capped(self, resp: aiohttp.ClientResponse, kind: Kind) -> bytes:
        cap = self.settings.fetch_max_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise TooLargeError(f"{kind} declares {declared} bytes, cap {cap}")
        chunks, size = [], 0
        # Counted after decompression, so a small gzip bomb cannot blow the cap.
        async for chunk in resp.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > cap:
                raise TooLargeError(f"{kind} body exceeds {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


_ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml, text/plain;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}


def _check_url(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"scheme {parts.scheme!r} is not fetched", reason="bad_url")
    if not parts.hostname:
        raise FetchError(f"no host in {url!r}", reason="bad_url")
    check_host_literal(parts.hostname, allow_private=allow_private)


def _error_reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # aiohttp wraps resolver errors; ours say why.
        cause = exc.__cause__ or exc.os_error
        if type(cause).__name__ == "BlockedAddressError":
            return "blocked_address"
        return "connect"
    return "fetch"
