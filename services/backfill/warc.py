"""Read the records of a WARC or ARC file (plain or gzip) as `Capture`s.

Which library, by measurement (issue 16 item 1). 1,810 `response` records (the 181
article-extraction-benchmark pages ten times over, ~170 KB each), written once with
gzip per record (CC-NEWS's layout) and once plain, every payload read in full, two
runs each on this machine:

| file              | warcio 1.8.1      | fastwarc 2.0.1      |
|-------------------|-------------------|---------------------|
| .warc.gz, 62 MB   | 1,008-1,555 rec/s | 3,071-3,755 rec/s   |
| .warc, 316 MB     | 4,154-5,935 rec/s | 13,331-16,180 rec/s |

fastwarc reads WARC 2.4-3.2x faster, and the reading shares two cores with the broker
and the services a backfill feeds, so it reads WARC here (with `auto_decode="all"`:
chunked transfer encoding and gzip/deflate/brotli content encoding undone, as the
fetcher's HTTP client does). fastwarc cannot read ARC (it stops at the first record:
"Invalid WARC header"), so ARC files go through warcio (its ARC-to-WARC conversion
and `content_stream()`, which undoes the same encodings).

Offsets: fastwarc and warcio both give each record's byte offset in the file (for a
gzip file, the start of its gzip member), so a run can resume by seeking there. A file
gzipped as a single member has no such boundaries: it is read again from the start and
the records before the resume point are skipped by count.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from fastwarc.warc import ArchiveIterator as FastIterator
from fastwarc.warc import WarcRecord
from warcio.archiveiterator import (  # type: ignore[import-untyped]
    ArchiveIterator as WarcioIterator,
)

GZIP_MAGIC = b"\x1f\x8b"
Format = Literal["warc", "arc"]
PAGE_KINDS = frozenset({"response", "resource"})


@dataclass(frozen=True)
class Capture:
    """One archive record, with what `records.page_from_capture` needs of it."""

    offset: int  # byte offset of the record (its gzip member) in the file
    kind: str  # WARC-Type: response, resource, revisit, request, warcinfo, metadata, ...
    record_id: str | None
    target_uri: str | None
    date: datetime | None  # WARC-Date: the capture time
    # HTTP status and headers (names lower-cased) of a response; a resource record has
    # no HTTP envelope: 200 and its WARC Content-Type.
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The payload with transfer and content encodings undone; None when not read (not a
    # page record, or over the size limit: then `too_large`).
    body: bytes | None = None
    length: int = 0  # the record's block length (its WARC Content-Length)
    too_large: bool = False
    error: str | None = None  # why the record could not be read
    index: int = 0  # records before this one in the file


def sniff_format(path: Path) -> Format:
    """WARC when the (decompressed) file starts with "WARC/", else ARC."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 64)
        except zlib.error:
            return "warc"  # let the reader report the broken file
    return "warc" if head.lstrip()[:5] == b"WARC/" else "arc"


def parse_warc_date(value: str | None) -> datetime | None:
    """A WARC-Date (ISO 8601, "Z" or an offset, seconds or finer), as an aware datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_captures(
    path: Path, *, max_body_bytes: int, start: int = 0, skip_records: int = 0
) -> Iterator[Capture]:
    """The records of `path` from byte `start` (a record's offset, whose `index` was
    `skip_records`); where `start` is no record boundary, from the beginning, skipping
    `skip_records` records."""
    fmt = sniff_format(path)
    with path.open("rb") as fh:
        seekable = start > 0 and _is_boundary(fh, start, fmt)
        fh.seek(start if seekable else 0)
        index = skip_records if seekable else 0
        skip = 0 if seekable else skip_records
        reader = _fast(fh, max_body_bytes) if fmt == "warc" else _arc(fh, path, max_body_bytes)
        for capture in reader:
            if index < skip:
                index += 1
                continue
            yield replace(capture, index=index)
            index += 1


def _is_boundary(fh: BinaryIO, start: int, fmt: Format) -> bool:
    fh.seek(0)
    gzipped = fh.read(2) == GZIP_MAGIC
    fh.seek(start)
    head = fh.read(5)
    if gzipped:
        return head[:2] == GZIP_MAGIC
    return head == b"WARC/" if fmt == "warc" else bool(head)


def _fast(fh: BinaryIO, max_body_bytes: int) -> Iterator[Capture]:
    records = iter(FastIterator(fh, parse_http=True, auto_decode="all"))
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as exc:  # a broken file ends here; what was read stands
            yield _unreadable(fh, exc)
            return
        yield _fast_capture(record, max_body_bytes)


def _fast_capture(record: WarcRecord, max_body_bytes: int) -> Capture:
    warc = record.headers
    kind = str(record.record_type)
    capture = Capture(
        offset=record.stream_pos,
        kind=kind,
        record_id=record.record_id,
        target_uri=warc.get("WARC-Target-URI"),
        date=parse_warc_date(warc.get("WARC-Date")),
        length=record.content_length,
    )
    if kind not in PAGE_KINDS:
        return capture
    try:
        if record.is_http:
            http = record.http_headers
            status, headers = http.status_code, _lower(http.items())
        else:
            status, headers = 200, {"content-type": warc.get("Content-Type") or ""}
        if record.content_length > max_body_bytes:
            return replace(capture, status=status, headers=headers, too_large=True)
        body = record.reader.read(max_body_bytes + 1)
    except Exception as exc:  # bad HTTP headers, a broken content encoding
        return replace(capture, error=f"{type(exc).__name__}: {exc}")
    if len(body) > max_body_bytes:  # decompressed past the limit
        return replace(capture, status=status, headers=headers, too_large=True)
    return replace(capture, status=status, headers=headers, body=body)


def _arc(fh: BinaryIO, path: Path, max_body_bytes: int) -> Iterator[Capture]:
    records = WarcioIterator(fh, arc2warc=True)
    it = iter(records)
    while True:
        try:
            record = next(it)
        except StopIteration:
            return
        except Exception as exc:
            yield _unreadable(fh, exc)
            return
        # Read the payload before asking for the offset: warcio finds the offset by
        # reading the record to its end.
        capture = _arc_payload(record, max_body_bytes)
        offset = records.get_record_offset()
        # ARC records have no id (warcio makes a random one): the file and offset are stable.
        yield replace(capture, offset=offset, record_id=f"{path.name}#{offset}")


def _arc_payload(record: Any, max_body_bytes: int) -> Capture:
    kind = str(record.rec_type)
    warc = record.rec_headers
    capture = Capture(
        offset=0,
        kind=kind,
        record_id=None,
        target_uri=warc.get_header("WARC-Target-URI"),
        date=parse_warc_date(warc.get_header("WARC-Date")),
        length=int(warc.get_header("Content-Length") or 0),
    )
    if kind not in PAGE_KINDS:
        return capture
    try:
        http = record.http_headers
        status = int(http.get_statuscode()) if http is not None else None
        headers = _lower(http.headers) if http is not None else {}
        if capture.length > max_body_bytes:
            return replace(capture, status=status, headers=headers, too_large=True)
        body = record.content_stream().read(max_body_bytes + 1)
    except Exception as exc:
        return replace(capture, error=f"{type(exc).__name__}: {exc}")
    if len(body) > max_body_bytes:
        return replace(capture, status=status, headers=headers, too_large=True)
    return replace(capture, status=status, headers=headers, body=body)


def _unreadable(fh: BinaryIO, exc: Exception) -> Capture:
    """Where a broken file stops being readable, and why."""
    return Capture(
        offset=fh.tell(),
        kind="unreadable",
        record_id=None,
        target_uri=None,
        date=None,
        error=f"{type(exc).__name__}: {exc}",
    )


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """HTTP headers with lower-cased names (as the fetcher's Response has them); a
    repeated header's values joined with ", " (RFC 9110)."""
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        out[key] = f"{out[key]}, {value}" if key in out else str(value)
    return out
