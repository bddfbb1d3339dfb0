"""Pages written by the archive writer are read back by `newswire backfill`'s reader
unchanged (issue 16 item 5's round trip)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.backfill.records import page_from_capture
from services.backfill.warc import read_captures
from services.common.models import Entry, Page
from services.common.settings import Settings
from services.common.urls import article_id
from services.common.warcarchive import WarcArchive, open_archive, warc_date
from services.fetcher.net.http import Response
from services.fetcher.pipeline import build_page
from tests.unit.backfill.synthetic import article_html

LIMIT = 5 * 1024 * 1024
T0 = datetime(2026, 11, 7, 10, 15, 30, 123456, tzinfo=UTC)


def fetched(url: str, body: bytes, content_type: str, at: datetime, status: int = 200) -> Page:
    """A page as the fetcher builds it from a response."""
    entry = Entry(entry_id=url, feed_url="https://news.test/feed.xml", link=url)
    resp = Response(url, url, status, {"content-type": content_type, "etag": '"e1"'}, body)
    return build_page(entry, resp, fetched_at=at)


def read_back(directory: Path) -> dict[str, Page]:
    pages = {}
    for path in sorted(directory.glob("*.warc.gz")):
        for cap in read_captures(path, max_body_bytes=LIMIT):
            page = page_from_capture(cap, path.name)
            assert isinstance(page, Page), page
            pages[page.final_url] = page
    return pages


def test_round_trip_keeps_url_status_body_and_capture_time(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, writer="t1")
    cafe = "<html><head></head><body><p>Caf\u00e9 \u201cquoted\u201d \u20ac5</p></body></html>"
    pages = [
        fetched(
            f"https://news.test/a/{i}",
            article_html(i).encode(),
            "text/html",
            T0 + timedelta(seconds=i),
        )
        for i in range(5)
    ]
    latin = fetched(
        "https://news.test/cafe", cafe.encode("cp1252"), "text/html; charset=windows-1252", T0
    )
    plain = fetched("https://news.test/t.txt", b"Just the text.\n", "text/plain", T0)
    for page in [*pages, latin, plain]:
        assert archive.write(page) is not None
    # The fetcher has the bytes as received: written as they came.
    raw_latin = fetched(
        "https://news.test/cafe-raw", cafe.encode("cp1252"), "text/html; charset=windows-1252", T0
    )
    archive.write(raw_latin, raw=cafe.encode("cp1252"))
    archive.close()

    back = read_back(tmp_path)
    for page in [*pages, latin, plain, raw_latin]:
        got = back[page.final_url]
        assert got.final_url == page.final_url and got.url == page.url
        assert got.status == page.status
        assert got.body == page.body
        assert got.fetched_at == page.fetched_at  # microseconds included
        assert got.article_id == page.article_id == article_id(page.final_url)
        assert got.etag == '"e1"'
    assert back["https://news.test/cafe-raw"].charset == "cp1252"
    assert back["https://news.test/t.txt"].content_type.startswith("text/plain")


def test_one_file_per_hour_gzip_per_record(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, writer="t2")
    hours = [T0, T0 + timedelta(minutes=10), T0 + timedelta(hours=1), T0 + timedelta(hours=3)]
    for i, at in enumerate(hours):
        archive.write(
            fetched(f"https://news.test/h/{i}", article_html(i).encode(), "text/html", at)
        )
    # A late page of an earlier hour goes to that hour's file.
    archive.write(fetched("https://news.test/h/late", article_html(9).encode(), "text/html", T0))
    archive.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "newswire-2026110710-t2.warc.gz",
        "newswire-2026110711-t2.warc.gz",
        "newswire-2026110713-t2.warc.gz",
    ]
    first = tmp_path / names[0]
    caps = list(read_captures(first, max_body_bytes=LIMIT))
    assert [c.target_uri for c in caps] == [
        "https://news.test/h/0",
        "https://news.test/h/1",
        "https://news.test/h/late",
    ]
    # Each record its own gzip member: each offset starts one.
    data = first.read_bytes()
    assert all(data[c.offset : c.offset + 2] == b"\x1f\x8b" for c in caps)
    assert gzip.decompress(data).count(b"WARC/1.1\r\n") == 3


def test_feed_bodies_are_not_captures(tmp_path: Path) -> None:
    entry = Entry(entry_id="e", feed_url="https://news.test/f.xml", link="https://news.test/x")
    page = Page.direct("id", entry, "<p>from the feed</p>", "text/html")
    page.body_source = "feed_content"
    archive = WarcArchive(tmp_path, writer="t3")
    assert archive.write(page) is None
    assert list(tmp_path.iterdir()) == []


def test_the_setting_turns_it_on() -> None:
    assert open_archive(Settings(archive_dir="")) is None
    on = open_archive(Settings(archive_dir="/tmp/x"))
    assert on is not None and on.directory == Path("/tmp/x")
    assert warc_date(T0) == "2026-11-07T10:15:30.123456Z"
    assert warc_date(T0.replace(microsecond=0)) == "2026-11-07T10:15:30Z"
