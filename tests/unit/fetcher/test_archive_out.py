"""NEWSWIRE_ARCHIVE_DIR: the fetcher writes every page it fetches to the hour's WARC file,
and `newswire backfill`'s reader gives the same page back (issue 16 item 5). Real HTTP
on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.backfill.records import page_from_capture
from services.backfill.warc import read_captures
from services.common.models import Entry, Page, decode
from services.common.settings import Settings
from services.common.stage import Source
from services.common.topics import PAGES
from services.common.warcarchive import open_archive
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import fetch_page_or_feed, fetcher_stage
from tests.conftest import serve_locally

CAFE = "<html><head></head><body><p>Caf\u00e9 \u201cquoted\u201d \u20ac5</p></body></html>"


def read_back(directory: Path) -> dict[str, Page]:
    back = {}
    for warc in directory.glob("*.warc.gz"):
        for capture in read_captures(warc, max_body_bytes=1 << 20):
            page = page_from_capture(capture, warc.name)
            assert isinstance(page, Page)
            back[page.final_url] = page
    return back


async def test_fetched_pages_are_archived_and_read_back_unchanged(tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/gone":
            return web.Response(status=403, text="no")
        return web.Response(
            body=CAFE.encode("cp1252"),
            headers={"Content-Type": "text/html; charset=windows-1252", "ETag": '"v1"'},
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner, base = await serve_locally(app)
    settings = Settings(allow_private_networks=True, archive_dir=str(tmp_path))
    archive = open_archive(settings)
    assert archive is not None
    client = HttpClient(settings)
    pages: list[Page] = []
    try:
        for path in ("/a/1", "/a/2", "/gone"):
            link = f"{base}{path}"
            raw = Entry(entry_id=link, feed_url=f"{base}/feed", link=link, summary="A teaser.")
            value = raw.model_dump_json().encode()
            outcome = await fetch_page_or_feed(value, client=client, archive=archive)
            outputs = fetcher_stage().settle(Source(PAGES.name, 0, 0, None), value, outcome)
            pages += [decode(Page, o.value) for o in outputs if o.topic == PAGES.name]
    finally:
        archive.close()
        await client.close()
        await runner.cleanup()

    fetched = {p.final_url: p for p in pages if p.body_source == "page"}
    assert len(fetched) == 2  # the 403 came from the feed's summary: never captured
    back = read_back(tmp_path)
    assert set(back) == set(fetched)
    for url, page in fetched.items():
        again = back[url]
        assert again.body == page.body == CAFE
        assert again.status == 200 and again.fetched_at == page.fetched_at
        assert again.etag == '"v1"'
