"""A local news web of real pages for the chaos and soak harnesses.

Distinct real pages come from the shared datasets: the article-extraction-benchmark
and trafilatura-eval-dev HTML as saved, and the ECB+ texts wrapped in a plain article
page. Syndicated copies (known ground truth: a duplicate of their original) are
served again on another host, either byte for byte or as the same article text in
another site's page frame. Pages are spread over loopback hosts (127.0.0.x, one port),
each with an RSS feed listing its pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import html
import json
import random
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Literal

from aiohttp import web

from services.common.urls import article_id

Kind = Literal["original", "exact_copy", "framed_copy"]
# The newest pubDate of the corpus; a share of the pages is dated months before it, so
# retention windows measured against the stream's own time are exercised.
NEWEST = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OLD_SHARE = 0.4
FIRST_HOST = 10
HTML_TYPE = "text/html"
RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Doc:
    """One distinct real page; `text` is its article text when known (gold or generated)."""

    key: str
    html: bytes
    title: str
    text: str | None = None


@dataclass(frozen=True)
class SitePage:
    host: str
    path: str
    body: bytes
    title: str
    published: datetime
    kind: Kind
    doc: str
    # For a copy: the (host, path) of its original.
    original: tuple[str, str] | None = None

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}{self.path}"


@dataclass(frozen=True)
class Copy:
    """Ground truth: `copy` (an article id) is a syndicated copy of `original`."""

    copy: str
    original: str
    kind: Kind


@dataclass
class GroundTruth:
    ids: dict[str, SitePage] = field(default_factory=dict)
    copies: list[Copy] = field(default_factory=list)


def _title_of(raw: bytes) -> str:
    match = re.search(rb"<title[^>]*>(.*?)</title>", raw, re.I | re.S)
    if not match:
        return ""
    text = match[1].decode("utf-8", "replace")
    return " ".join(html.unescape(text).split())[:200]


def _gold(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / "ground-truth.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    return dict(json.loads(gzip.decompress((folder / "ground-truth.json.gz").read_bytes())))


def article_page(title: str, text: str, frame: str = "plain") -> bytes:
    """An article page around `text` (paragraphs by line); `frame` picks the site's dress."""
    paras = "".join(f"<p>{html.escape(p)}</p>\n" for p in text.split("\n") if p.strip())
    head = f"<title>{html.escape(title)}</title>"
    if frame == "plain":
        body = f"<article><h1>{html.escape(title)}</h1>\n{paras}</article>"
    else:
        # Another publisher's template: navigation, a sidebar and a footer of its own.
        body = (
            '<header><nav><a href="/">Home</a> | <a href="/world">World</a> | '
            '<a href="/business">Business</a> | <a href="/sport">Sport</a></nav></header>'
            f"<main><article><h1>{html.escape(title)}</h1>"
            '<p class="byline">By Syndicated Wire Staff</p>\n'
            f"{paras}</article></main>"
            "<aside><h2>Most read</h2><ul><li><a href='/x/1'>Markets close higher</a></li>"
            "<li><a href='/x/2'>Weather warnings for the weekend</a></li></ul></aside>"
            "<footer><p>© Syndicated Wire. All rights reserved.</p>"
            "<p><a href='/about'>About us</a> · <a href='/contact'>Contact</a></p></footer>"
        )
    page = f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{head}</head>'
    return f"{page}<body>{body}</body></html>\n".encode()


def load_docs(datasets: Path) -> list[Doc]:
    """Every distinct page of the three datasets, in a fixed order (no two alike)."""
    docs: list[Doc] = []
    aeb = datasets / "article-extraction-benchmark"
    gold = _gold(aeb)
    for path in sorted((aeb / "html").glob("*.html.gz")):
        key = path.name.removesuffix(".html.gz")
        raw = gzip.decompress(path.read_bytes())
        body = str(gold.get(key, {}).get("articleBody") or "") or None
        docs.append(Doc(f"aeb/{key}", raw, _title_of(raw) or key, body))
    for path in sorted((datasets / "trafilatura-eval-dev" / "html").glob("*.html.gz")):
        raw = gzip.decompress(path.read_bytes())
        name = path.name.removesuffix(".html.gz")
        docs.append(Doc(f"traf/{name}", raw, _title_of(raw) or name))
    for line in (datasets / "ecbplus-dev" / "articles.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        text = str(rec["text"])
        title = rec.get("title") or " ".join(text.split()[:10])
        docs.append(Doc(f"ecb/{rec['id']}", article_page(str(title), text), str(title), text))
    seen: set[str] = set()
    distinct = []
    for doc in docs:
        digest = hashlib.sha256(doc.html).hexdigest()
        text_digest = hashlib.sha256(" ".join((doc.text or "").split()).encode()).hexdigest()
        if digest in seen or (doc.text and text_digest in seen):
            continue
        seen.update({digest, text_digest} if doc.text else {digest})
        distinct.append(doc)
    return distinct


def host_name(i: int) -> str:
    return f"127.0.0.{FIRST_HOST + i}"


def build_site(
    docs: list[Doc],
    *,
    seed: int,
    pages: int | None = None,
    copies: int | None = None,
    hosts: int = 20,
    framed_share: float = 0.3,
) -> list[SitePage]:
    """Originals spread over `hosts` hosts plus syndicated copies on other hosts.

    `pages` originals (all when None), sampled across the datasets; `copies` copies
    (about one per eleven originals when None), `framed_share` of them in another frame
    (only where the article text is known).
    """
    rng = random.Random(seed)
    chosen = list(docs)
    if pages is not None and pages < len(chosen):
        chosen = rng.sample(chosen, pages)
    n_copies = copies if copies is not None else max(1, round(len(chosen) * 100 / 1115))
    n_hosts = max(2, min(hosts, len(chosen)))
    out: list[SitePage] = []
    for i, doc in enumerate(chosen):
        host = host_name(rng.randrange(n_hosts))
        old = rng.random() < OLD_SHARE
        age = timedelta(days=rng.uniform(31, 180) if old else rng.uniform(0, 29))
        out.append(
            SitePage(
                host=host,
                path=f"/news/{i:04d}.html",
                body=doc.html,
                title=doc.title,
                published=NEWEST - age,
                kind="original",
                doc=doc.key,
            )
        )
    texted = [i for i, doc in enumerate(chosen) if doc.text and len(doc.text.split()) >= 80]
    n_framed = min(len(texted), round(n_copies * framed_share)) if n_copies > 1 else 0
    framed_from = rng.sample(texted, n_framed)
    rest = [i for i in range(len(chosen)) if i not in set(framed_from)]
    exact_from = rng.sample(rest, min(len(rest), n_copies - n_framed))
    for j, i in enumerate([*exact_from, *framed_from]):
        orig = out[i]
        doc = chosen[i]
        others = [host_name(h) for h in range(n_hosts) if host_name(h) != orig.host]
        framed = j >= len(exact_from)
        body = article_page(doc.title, doc.text or "", frame="wire") if framed else doc.html
        out.append(
            SitePage(
                host=rng.choice(others),
                path=f"/syndicated/{j:04d}.html",
                body=body,
                title=doc.title,
                # Syndication runs a few hours behind the original.
                published=orig.published + timedelta(hours=rng.uniform(1, 12)),
                kind="framed_copy" if framed else "exact_copy",
                doc=doc.key,
                original=(orig.host, orig.path),
            )
        )
    return out


def ground_truth(pages: list[SitePage], port: int) -> GroundTruth:
    truth = GroundTruth()
    by_place = {(p.host, p.path): p for p in pages}
    for page in pages:
        aid = article_id(page.url(port))
        truth.ids[aid] = page
        if page.original is not None:
            orig = by_place[page.original]
            truth.copies.append(Copy(aid, article_id(orig.url(port)), page.kind))
    return truth


def rss(title: str, base: str, items: list[SitePage], port: int) -> bytes:
    """RSS 2.0 listing `items` newest first, each with guid, title, link and pubDate."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{html.escape(title)}</title><link>{base}/</link>",
        "<description>Loopback newsroom</description>",
    ]
    for page in sorted(items, key=lambda p: p.published, reverse=True):
        url = page.url(port)
        parts.append(
            f"<item><title>{html.escape(page.title)}</title><link>{html.escape(url)}</link>"
            f'<guid isPermaLink="true">{html.escape(url)}</guid>'
            f"<pubDate>{format_datetime(page.published)}</pubDate></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


def feed_path() -> str:
    return "/feed.xml"


def feeds_yaml(hosts: list[str], port: int) -> str:
    lines = ["feeds:"]
    for host in hosts:
        lines.append(f"  - url: http://{host}:{port}{feed_path()}")
        lines.append(f"    title: Loopback news {host}")
        lines.append("    tags: [chaos]")
    return "\n".join(lines) + "\n"


# A resolver answers (host, path) with (body, content type), or None for 404.
Resolver = Callable[[str, str], tuple[bytes, str] | None]
ROBOTS = b"User-agent: *\nAllow: /\n"


def static_resolver(pages: list[SitePage], port: int) -> Resolver:
    by_place = {(p.host, p.path): p for p in pages}
    by_host: dict[str, list[SitePage]] = {}
    for page in pages:
        by_host.setdefault(page.host, []).append(page)
    feeds = {
        host: rss(f"Loopback news {host}", f"http://{host}:{port}", items, port)
        for host, items in by_host.items()
    }

    def resolve(host: str, path: str) -> tuple[bytes, str] | None:
        if path == "/robots.txt":
            return ROBOTS, "text/plain; charset=utf-8"
        if path == feed_path() and host in feeds:
            return feeds[host], RSS_TYPE
        page = by_place.get((host, path))
        return (page.body, HTML_TYPE) if page is not None else None

    return resolve


def free_common_port(hosts: list[str], attempts: int = 50) -> int:
    """A port free on every host address (they are bound separately)."""
    for _ in range(attempts):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = int(s.getsockname()[1])
        ok = True
        for host in hosts[1:]:
            with socket.socket() as s, contextlib.suppress(OSError):
                s.bind((host, port))
                continue
            ok = False
            break
        if ok:
            return port
    raise OSError("no port free on every loopback host")


class SiteServer:
    """The loopback web: one aiohttp app on every host address, in a thread of its own."""

    def __init__(self, hosts: list[str], port: int, resolve: Resolver) -> None:
        self.hosts = hosts
        self.port = port
        self.resolve = resolve
        self.requests: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        host = (request.host or "").rsplit(":", 1)[0]
        key = f"{host}{request.path}"
        self.requests[key] = self.requests.get(key, 0) + 1
        found = self.resolve(host, request.path)
        if found is None:
            raise web.HTTPNotFound()
        body, ctype = found
        return self._respond(request, body, ctype)

    def _respond(self, request: web.Request, body: bytes, ctype: str) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": ctype})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        for host in self.hosts:
            await web.TCPSite(self._runner, host, self.port, reuse_address=True).start()

    def start(self) -> SiteServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def page_requests(self) -> dict[str, int]:
        """Requests per page URL (host and path), feeds and robots.txt left out."""
        return {
            k: v
            for k, v in self.requests.items()
            if not k.endswith(feed_path()) and not k.endswith("/robots.txt")
        }
