"""Archive out: fetched pages written to rotating WARC files, for `newswire backfill`.

Raw captures outlive newswire.pages' retention this way (issue 16 item 5). One file per
hour of capture time (`fetched_at`, UTC) and writer (`newswire-2026010112-<host>-<pid>.warc.gz`:
two fetcher replicas never share a file), each record a gzip member of its own (so a
reader can seek to any record, as in CC-NEWS), `response` records in WARC/1.1 whose
WARC-Date keeps the microseconds, so a page read back has the `fetched_at` it had.

A page record keeps its decoded text, not the bytes that came over the wire. Given
the bytes (`raw`, as the fetcher has them), they are written as received (less the
transfer and content encodings the HTTP client already undid); otherwise the text is
written as UTF-8 and the Content-Type says so (a charset in the header wins over the
page's own <meta>), so reading it back gives the same text either way. The HTTP
headers written are those a page record keeps (Content-Type, ETag, Last-Modified)
unless the caller passes the response's own. Pages whose body came from the feed
(`body_source` other than `page`) were never captured and are not written.

warcio writes (the reference implementation; `newswire backfill` reads WARC with
fastwarc, so the round-trip test also checks the two agree).
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from services.common.models import Page
from services.common.settings import Settings

# Encodings the HTTP client undid (or that no longer apply to the bytes written).
DROPPED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def warc_date(at: datetime) -> str:
    """WARC/1.1's date: UTC, with the fraction of a second when there is one."""
    utc = at.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def utf8_content_type(content_type: str) -> str:
    media = content_type.split(";")[0].strip() or "text/html"
    return f"{media}; charset=utf-8"


def http_parts(
    page: Page, raw: bytes | None, headers: Mapping[str, str] | None
) -> tuple[bytes, list[tuple[str, str]]]:
    """The body bytes and HTTP headers to write for `page`."""
    if raw is not None:
        body = raw
        given = dict(headers) if headers is not None else {"Content-Type": page.content_type}
    else:
        body = page.body.encode("utf-8", "surrogatepass")
        given = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
        given["Content-Type"] = utf8_content_type(page.content_type)
    if headers is None:
        if page.etag:
            given["ETag"] = page.etag
        if page.last_modified:
            given["Last-Modified"] = page.last_modified
    out = [(k, v) for k, v in given.items() if k.lower() not in DROPPED_HEADERS]
    out.append(("Content-Length", str(len(body))))
    return body, out


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class WarcArchive:
    """Appends pages to the hour's file in `directory`; one file open at a time."""

    def __init__(self, directory: Path, *, prefix: str = "newswire", writer: str | None = None):
        self.directory = directory
        self.prefix = prefix
        self.writer_id = writer or f"{socket.gethostname()}-{os.getpid()}"
        self._hour: str | None = None
        self._fh: BinaryIO | None = None
        self._warc: WARCWriter | None = None

    def path_for(self, at: datetime) -> Path:
        hour = at.astimezone(UTC).strftime("%Y%m%d%H")
        return self.directory / f"{self.prefix}-{hour}-{self.writer_id}.warc.gz"

    def write(
        self, page: Page, raw: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Path | None:
        """Write `page` as a `response` record; the file written to (None: not a capture)."""
        if page.body_source != "page":
            return None
        path = self._open(page.fetched_at)
        body, http_headers = http_parts(page, raw, headers)
        assert self._warc is not None and self._fh is not None
        record = self._warc.create_warc_record(
            page.final_url,
            "response",
            payload=io.BytesIO(body),
            http_headers=StatusAndHeaders(
                status_line(page.status), http_headers, protocol="HTTP/1.1"
            ),
            warc_headers_dict={"WARC-Date": warc_date(page.fetched_at)},
        )
        self._warc.write_record(record)
        self._fh.flush()
        return path

    def _open(self, at: datetime) -> Path:
        path = self.path_for(at)
        if self._hour != path.name:
            self.close()
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("ab")
            self._warc = WARCWriter(self._fh, gzip=True, warc_version="1.1")
            self._hour = path.name
        return path

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = self._warc = self._hour = None


def open_archive(settings: Settings) -> WarcArchive | None:
    """The fetcher's archive when NEWSWIRE_ARCHIVE_DIR is set, else None."""
    if not settings.fetcher.archive_dir:
        return None
    return WarcArchive(Path(settings.fetcher.archive_dir))
