"""Fixtures the fetcher's tests share across their sub-packages: the misbehaving servers,
a site of odd answers (redirect chains, a big body, a consent wall, a PDF) and a site
with a robots.txt."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from tests.conftest import serve_locally
from tests.unit.fetcher.misbehaving import Servers, serve_misbehaving


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """The misbehaving servers on 127.0.0.1, once per test module."""
    with serve_misbehaving() as found:
        yield found


@pytest.fixture
async def odd_server() -> AsyncIterator[str]:
    async def redirect(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/r/{n - 1}" if n > 1 else "/ok")

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="<p>fine</p>", content_type="text/html")

    async def big(_: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * 300_000, content_type="text/html")

    async def missing(_: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def consent(request: web.Request) -> web.Response:
        # A consent wall: set a cookie and redirect back; the article only with it.
        if request.cookies.get("consent") == "yes":
            meter = int(request.cookies.get("meter", "0"))
            resp = web.Response(text=f"<p>article; meter {meter}</p>", content_type="text/html")
            resp.set_cookie("meter", str(meter + 1))  # a paywall meter, per visitor
            return resp
        resp = web.HTTPFound(request.path)
        resp.set_cookie("consent", "yes", path="/consent")
        resp.set_cookie("elsewhere", "no", path="/other")
        raise resp

    async def pdf(_: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.7", content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/r/{n}", redirect)
    app.router.add_get("/ok", ok)
    app.router.add_get("/big", big)
    app.router.add_get("/missing", missing)
    app.router.add_get("/consent", consent)
    app.router.add_get("/doc.pdf", pdf)
    runner, base = await serve_locally(app)
    yield base
    await runner.cleanup()


ROBOTS = (
    "User-agent: NewswireBot\nDisallow: /private\nCrawl-delay: 2\n\nUser-agent: *\nDisallow: /\n"
)


@pytest.fixture
async def site() -> AsyncIterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}
    robots_status = {"code": 200}

    async def robots(_: web.Request) -> web.Response:
        hits["robots"] = hits.get("robots", 0) + 1
        if robots_status["code"] != 200:
            return web.Response(status=robots_status["code"])
        return web.Response(text=ROBOTS)

    async def page(request: web.Request) -> web.Response:
        hits[request.path] = hits.get(request.path, 0) + 1
        if request.path.startswith("/moved/"):
            raise web.HTTPFound(request.path.replace("/moved/", "/private/", 1))
        html = '<html><head><link href="/canon/1" rel="canonical"></head><body><p>x</p></body>'
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/{path:.*}", page)
    runner, base = await serve_locally(app)
    hits["_status"] = 0
    yield base, hits
    await runner.cleanup()
