"""The loopback news web `make bench` drives the pipeline with: many hosts, several feeds
a host, each real page published under several URLs, released when the bench says.

Items are numbered in publication order. A phase's items are its documents repeated
`copies` times, each copy on another host, so dedup sees exact copies the way syndication
produces them. The bench either releases a block of items at once (the pipeline's
maximum: a backlog to work through) or paces them at a fixed rate (latency at a known
load). Feeds answer conditional GETs (ETag), as a news site's CDN does, so a poll that
finds nothing new costs the fetcher a 304, not a parse.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

from services.common.urls import article_id
from services.devtools import corpus
from services.devtools.corpus import Doc, Resolver

FEED_ITEMS = 100
SECTIONS = ("world", "business", "science", "culture", "sport", "tech")


@dataclass(frozen=True)
class Item:
    k: int
    doc: int  # index into the site's docs
    copy: int
    host: str
    section: str
    phase: str

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.k:06d}.html"

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}{self.path}"


def feed_path(section: str) -> str:
    return f"/{section}/feed.xml"


def plan_items(
    doc_ids: list[int],
    *,
    copies: int,
    hosts: list[str],
    feeds_per_host: int,
    phase: str,
    first_k: int,
) -> list[Item]:
    """Every document of `doc_ids` `copies` times: all first copies, then all second ones,
    and so on, each copy of a document on another host (when there are enough hosts)."""
    n_hosts = len(hosts)
    step = max(1, n_hosts // max(1, copies))
    out: list[Item] = []
    for c in range(copies):
        for i, doc in enumerate(doc_ids):
            k = first_k + len(out)
            host = hosts[(i + c * step) % n_hosts]
            section = SECTIONS[(i + c) % feeds_per_host]
            out.append(Item(k, doc, c, host, section, phase))
    return out


def feeds_yaml(hosts: list[str], feeds_per_host: int, port: int) -> str:
    lines = ["feeds:"]
    for host in hosts:
        for section in SECTIONS[:feeds_per_host]:
            lines.append(f"  - url: http://{host}:{port}{feed_path(section)}")
            lines.append(f"    title: Bench {section} {host}")
            lines.append("    tags: [bench]")
    return "\n".join(lines) + "\n"


@dataclass
class Release:
    """Items [start, target) released at `rate` a second from `t0` (all at once when the
    rate is None)."""

    start: int
    target: int
    rate: float | None
    t0: float
    t0_wall: datetime

    def count(self, now: float) -> int:
        if self.rate is None:
            return self.target
        return min(self.target, self.start + math.floor((now - self.t0) * self.rate))

    def published(self, k: int) -> datetime:
        if self.rate is None:
            return self.t0_wall
        return self.t0_wall + timedelta(seconds=(k - self.start) / self.rate)


@dataclass
class PacedSite:
    docs: list[Doc]
    hosts: list[str]
    port: int
    feeds_per_host: int
    items: list[Item] = field(default_factory=list)
    _releases: list[Release] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, items: list[Item]) -> None:
        with self._lock:
            self.items.extend(items)

    def release(self, upto: int, rate: float | None = None) -> Release:
        """Release items up to `upto` (exclusive): at once, or `rate` a second from now."""
        with self._lock:
            start = self._released_locked(time.monotonic())
            rel = Release(start, upto, rate, time.monotonic(), datetime.now(UTC))
            self._releases.append(rel)
            return rel

    def released(self) -> int:
        with self._lock:
            return self._released_locked(time.monotonic())

    def _released_locked(self, now: float) -> int:
        return self._releases[-1].count(now) if self._releases else 0

    def published(self, k: int) -> datetime:
        for rel in reversed(self._releases):
            if rel.start <= k < rel.target:
                return rel.published(k)
        return datetime.now(UTC)

    def ids(self, items: list[Item]) -> set[str]:
        return {article_id(it.url(self.port)) for it in items}

    def resolver(self) -> Resolver:
        by_path: dict[tuple[str, str], Item] = {}
        hosts = set(self.hosts)

        def resolve(host: str, path: str) -> tuple[bytes, str] | None:
            if path == "/robots.txt":
                return corpus.ROBOTS, "text/plain; charset=utf-8"
            if host not in hosts:
                return None
            if path.endswith("/feed.xml"):
                section = path.split("/")[1]
                if section in SECTIONS[: self.feeds_per_host]:
                    return self._feed(host, section), corpus.RSS_TYPE
                return None
            if len(by_path) < len(self.items):
                with self._lock:
                    by_path.update({(it.host, it.path): it for it in self.items})
            item = by_path.get((host, path))
            if item is None or item.k >= self.released():
                return None
            return self.docs[item.doc].html, corpus.HTML_TYPE

        return resolve

    def _feed(self, host: str, section: str) -> bytes:
        upto = self.released()
        with self._lock:
            mine = [it for it in self.items[:upto] if it.host == host and it.section == section][
                -FEED_ITEMS:
            ]
        pages = [
            corpus.SitePage(
                host=host,
                path=it.path,
                body=b"",
                title=self.docs[it.doc].title or f"Story {it.k}",
                published=self.published(it.k),
                kind="original",
                doc=self.docs[it.doc].key,
            )
            for it in mine
        ]
        return corpus.rss(f"Bench {section} {host}", f"http://{host}", pages, self.port)


class ConditionalSiteServer(corpus.SiteServer):
    """The corpus's loopback server, with ETags: an unchanged feed is answered 304."""

    def _respond(self, request: web.Request, body: bytes, ctype: str) -> web.Response:
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"Content-Type": ctype, "ETag": etag})
