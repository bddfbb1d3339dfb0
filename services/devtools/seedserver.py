"""Serve `seeds/` over HTTP on 127.0.0.1, as the feeds' and articles' web servers would.

`${SEEDS_URL}` inside served files becomes this server's own base URL, so feeds
link to articles on whatever port it got. Answers conditional GETs (ETag and
Last-Modified) like a well-behaved server.

A page with a revision beside it (`x.html` and `x.rev2.html`, the seed newsroom's
revised article) is served as first published on its first GET and as revised on every
later one: the site changed the article between two fetches, deterministically, whatever
the time between them.
"""

from __future__ import annotations

import hashlib
import mimetypes
from email.utils import formatdate
from pathlib import Path

from aiohttp import web

from services.fetcher.state.registry import SEEDS_TOKEN

TEXT_SUFFIXES = {".xml", ".atom", ".html", ".htm", ".txt", ".json", ".yaml"}
TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
}
# One fixed Last-Modified for the bundled files: they do not change while served.
LAST_MODIFIED = formatdate(1703095440, usegmt=True)
REVISION_INFIX = ".rev2"


def revision_of(path: Path) -> Path:
    return path.with_name(f"{path.stem}{REVISION_INFIX}{path.suffix}")


def make_app(root: Path, base_url: str) -> web.Application:
    root = root.resolve()
    # Pages with a revision whose first version has been sent once.
    served_first: set[Path] = set()

    async def handle(request: web.Request) -> web.StreamResponse:
        rel = request.match_info["path"]
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file():
            raise web.HTTPNotFound()
        revised = revision_of(path)
        if revised.is_file():
            if path in served_first:
                path = revised
            elif request.method == "GET":
                served_first.add(path)
        body = path.read_bytes()
        if path.suffix in TEXT_SUFFIXES:
            body = body.replace(SEEDS_TOKEN.encode(), base_url.rstrip("/").encode())
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Cache-Control": "max-age=60"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        ctype = (
            TYPES.get(path.suffix)
            or mimetypes.guess_type(path.name)[0]
            or "application/octet-stream"
        )
        headers["Content-Type"] = ctype
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{path:.+}", handle)
    return app


async def start(root: Path, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Start serving; return the runner (to clean up) and the base URL."""
    # The base URL is needed inside the handler, before the port is known: bind first.
    import socket

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    base = f"http://{host}:{sock.getsockname()[1]}"
    runner = web.AppRunner(make_app(root, base), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, base
