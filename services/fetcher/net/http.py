"""The fetcher's HTTP client. One place owns HTTP semantics: validators, redirects, limits.

Every request goes through the SSRF guard, follows redirects by hand (each hop
is checked), caps the body and counts the outcome by status class.

No cookie jar outlives a fetch. News sites meter their paywalls by cookie, so a
fetcher that kept a shared jar would, after a few articles per site, fetch the
paywall instead of the article; it would also hand every tracking cookie back.
Cookies a redirect sets are carried along that one redirect chain only, which is
what consent walls and "cookie check" hops need.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Literal
from urllib.parse import urljoin

import aiohttp
from prometheus_client import Counter, Histogram
from yarl import URL

from services.common import metrics
from services.common.errors import FetchError, HttpStatusError, TooLargeError
from services.common.settings import Settings
from services.fetcher.net.guard import GuardedResolver, check_host_literal

Kind = Literal["feed", "page", "robots"]
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
# URLs and hosts that passed the up-front guard check, per client: feeds are polled
# again and again, and many share a host, so each poll would otherwise parse its URL
# and try its host as an IP literal again. Cleared when full (page URLs rarely repeat).
CHECKED_MAX = 50_000


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
        self._checked_urls: set[str] = set()
        self._checked_hosts: set[str] = set()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            s = self.settings
            # No per-host connection limit here: aiohttp hands a released connection back
            # to the task that released it before queued waiters run, so with its
            # limit_per_host most requests to a busy host starve until their total
            # timeout (seen in bench-fetcher). Per-host load is bounded by design instead:
            # one feed poll at a time per worker, and HostGate's one page request per host.
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=s.fetcher.allow_private_networks),
                limit=s.fetcher.connections,
                limit_per_host=0,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=s.fetcher.total_timeout,
                    sock_connect=s.fetcher.connect_timeout,
                    sock_read=s.fetcher.read_timeout,
                ),
                headers={"User-Agent": s.fetcher.user_agent},
                auto_decompress=True,
                cookie_jar=aiohttp.DummyCookieJar(),  # see the module docstring
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
        before_redirect: Callable[[str], Awaitable[object]] | None = None,
    ) -> Response:
        """GET with redirects followed by hand; 304 is returned, other 4xx/5xx raise.

        `before_redirect` is awaited with each redirect target before it is requested
        (the page fetcher asks robots.txt there); it refuses a hop by raising.
        """
        headers = _request_headers(kind, etag, last_modified)
        redirects: list[str] = []
        chain_jar: aiohttp.CookieJar | None = None  # made when a redirect sets a cookie
        current = url
        for _ in range(self.settings.fetcher.max_redirects + 1):
            if redirects and before_redirect is not None:
                await before_redirect(current)
            self._check(current)
            hop_headers = _with_cookies(headers, chain_jar, current)
            started = time.perf_counter()
            try:
                async with self._get_session().get(
                    current, headers=hop_headers, allow_redirects=False
                ) as resp:
                    if resp.status in REDIRECT_STATUSES and "Location" in resp.headers:
                        _requests(kind, metrics.status_class(resp.status)).inc()
                        if resp.cookies:
                            # unsafe: also for IP-literal hosts; the jar lives one chain.
                            chain_jar = chain_jar or aiohttp.CookieJar(unsafe=True)
                            chain_jar.update_cookies(resp.cookies, resp.url)
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
                _requests(kind, "error").inc()
                raise
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                _requests(kind, "error").inc()
                raise FetchError(f"{type(exc).__name__}: {exc}", reason=_error_reason(exc)) from exc
            finally:
                _seconds(kind).observe(time.perf_counter() - started)
            _requests(kind, metrics.status_class(result.status)).inc()
            _bytes(kind).inc(len(result.body))
            if result.status == 304 or 200 <= result.status < 300:
                return result
            raise HttpStatusError(
                f"HTTP {result.status} for {current}", status=result.status, headers=result.headers
            )
        raise FetchError(
            f"more than {self.settings.fetcher.max_redirects} redirects", reason="redirects"
        )

    def _check(self, url: str) -> None:
        """_check_url, remembered: its answer depends on the URL (or host) alone, for this
        client's settings. Only passes are kept; a refused URL raises every time."""
        if url in self._checked_urls:
            return
        host = _url_host(url)
        if host not in self._checked_hosts:
            check_host_literal(host, allow_private=self.settings.fetcher.allow_private_networks)
            _keep(self._checked_hosts, host)
        _keep(self._checked_urls, url)

    async def _read_capped(self, resp: aiohttp.ClientResponse, kind: Kind) -> bytes:
        cap = self.settings.fetcher.max_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise TooLargeError(f"{kind} declares {declared} bytes, cap {cap}")
        chunks, size = [], 0
        # Counted after decompression, so a small gzip bomb cannot blow the cap. read(n)
        # also bounds each decompressed chunk to n, as iter_chunked(n) does, without
        # an async iterator per response.
        while chunk := await resp.content.read(CHUNK):
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


def _request_headers(kind: Kind, etag: str | None, last_modified: str | None) -> dict[str, str]:
    """Accept for the kind, plus the validators to send; a new dict (aiohttp may keep it)."""
    headers = {"Accept": _ACCEPT[kind]}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _with_cookies(
    headers: dict[str, str], jar: aiohttp.CookieJar | None, url: str
) -> dict[str, str]:
    """The request headers plus the chain's cookies that this URL may be sent (domain,
    path, secure and expiry as a browser would decide)."""
    if jar is None or not (cookies := jar.filter_cookies(URL(url))):
        return headers
    pairs = "; ".join(f"{name}={morsel.coded_value}" for name, morsel in cookies.items())
    return {**headers, "Cookie": pairs}


# The metric children, bound once per label set: labels() costs a lock and a tuple
# lookup, three times a request. Label values come from small fixed sets.
@cache
def _requests(kind: str, status_class: str) -> Counter:
    return metrics.FETCH_REQUESTS.labels(kind, status_class)


@cache
def _seconds(kind: str) -> Histogram:
    return metrics.FETCH_SECONDS.labels(kind)


@cache
def _bytes(kind: str) -> Counter:
    return metrics.FETCH_BYTES.labels(kind)


def _url_host(url: str) -> str:
    """The host of an http(s) URL as aiohttp will connect to it; FetchError for another
    scheme or no host.

    yarl's form, not urlsplit's: yarl folds full-width digits and ideographic full
    stops into 127.0.0.1, and aiohttp connects to an IP literal without asking the
    guarded resolver, so a check of urlsplit's host would let those through.
    """
    try:
        parts = URL(url)
    except (ValueError, TypeError) as exc:
        raise FetchError(f"bad URL {url!r}: {exc}", reason="bad_url") from exc
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"scheme {parts.scheme!r} is not fetched", reason="bad_url")
    if not parts.raw_host:
        raise FetchError(f"no host in {url!r}", reason="bad_url")
    return parts.raw_host


def _keep(checked: set[str], item: str) -> None:
    if len(checked) >= CHECKED_MAX:
        checked.clear()
    checked.add(item)


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
