"""A capture read from an archive -> the newswire.pages record the fetcher would have made.

The page is built by the fetcher's own `build_page` (charset decoding, article id,
canonical link) from a `Response` that stands for the archived one: the final URL is
the WARC-Target-URI (an archive holds each redirect hop as a record of its own; the
3xx ones are skipped here), `fetched_at` the capture time. The entry is synthetic:
`feed_url` `warc:<file name>`, `link` the target URI, no publication time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.backfill.warc import PAGE_KINDS, Capture
from services.common.errors import ArchiveRecordError, NewswireError, TooLargeError
from services.common.models import Entry, Page, Trace, utcnow
from services.common.stage import Output, Source, dead_letter
from services.fetcher.net.http import Response
from services.fetcher.pipeline import PAGE_TYPES, build_page, page_record

STAGE = "backfill"


@dataclass(frozen=True)
class Skip:
    """Why a capture gives no page; `dead_letter` when a user would want to see it."""

    reason: str
    dead_letter: bool = False
    message: str = ""


def page_from_capture(
    capture: Capture, source_name: str, *, now: datetime | None = None
) -> Page | Skip:
    """The page of a `response` (or `resource`) capture of an HTML, XHTML or text page
    answered 2xx; otherwise why not."""
    if capture.error is not None:
        return Skip("warc_record", True, f"record cannot be read: {capture.error}")
    if capture.kind == "revisit":
        return Skip("revisit")  # no payload of its own: the page is an earlier capture's
    if capture.kind not in PAGE_KINDS:
        return Skip(capture.kind)
    uri = capture.target_uri or ""
    if not uri.startswith(("http://", "https://")):
        return Skip("no_url")
    if capture.status is None:
        return Skip("not_http")
    if not 200 <= capture.status < 300:
        return Skip(f"status_{capture.status // 100}xx")
    resp = Response(
        url=uri,
        final_url=uri,
        status=capture.status,
        headers=capture.headers,
        body=capture.body or b"",
    )
    if resp.media_type not in PAGE_TYPES:
        return Skip("content_type")
    if capture.too_large or capture.body is None:
        return Skip("too_large", True, f"payload over the page size limit ({capture.length} bytes)")
    now = now or utcnow()
    at = capture.date or now
    record_id = capture.record_id or f"{source_name}#{capture.offset}"
    entry = Entry(
        entry_id=record_id,
        feed_url=f"warc:{source_name}",
        link=uri,
        discovered_at=at,
        trace=Trace(fetched_at=at, stages={STAGE: now}),
    )
    try:
        page = build_page(entry, resp, fetched_at=at)
    except ValueError as exc:  # a target URI article_id cannot parse
        return Skip("bad_url", True, f"{uri!r}: {exc}")
    except NewswireError as exc:
        return Skip(exc.reason, True, str(exc))
    # The fetcher stamps itself; this page was never fetched by it.
    page.trace = Trace(fetched_at=at, stages={STAGE: now})
    page.warc_record_id = record_id
    return page


@dataclass(frozen=True, slots=True)
class Prepared:
    """One capture as the sending side needs it: where it is in its file, the record to
    send (its page, or a dead letter; none for a capture skipped quietly) and how it
    counts (`skipped`: the reason when it gave no page)."""

    offset: int
    index: int
    out: Output | None
    skipped: str | None = None
    dead_letter: bool = False


def prepare(
    capture: Capture, path: Path, partitions: int, max_record_bytes: int | None
) -> Prepared:
    """The newswire.pages record of `capture` (as the fetcher makes it: `page_record`),
    or its dead letter, or why it gives nothing."""
    outcome = page_from_capture(capture, path.name)
    if isinstance(outcome, Skip):
        if not outcome.dead_letter:
            return Prepared(capture.offset, capture.index, None, outcome.reason)
        letter = dead_letter_for(capture, outcome, str(path), max_record_bytes)
        return Prepared(capture.offset, capture.index, letter, outcome.reason, True)
    record = page_record(outcome, partitions)
    if (
        max_record_bytes is not None
        and len(record.value or b"") + len(record.key or b"") > max_record_bytes
    ):
        skip = Skip("too_large", True, "page record over the broker's message size limit")
        letter = dead_letter_for(capture, skip, str(path), max_record_bytes)
        return Prepared(capture.offset, capture.index, letter, skip.reason, True)
    return Prepared(capture.offset, capture.index, record)


def describe(capture: Capture, path: str) -> bytes:
    """What a dead letter carries as its original: where the capture is, not its bytes
    (an oversized one would not fit, an unreadable one has none)."""
    return json.dumps(
        {
            "file": path,
            "offset": capture.offset,
            "warc_type": capture.kind,
            "warc_record_id": capture.record_id,
            "target_uri": capture.target_uri,
            "warc_date": capture.date.isoformat() if capture.date else None,
            "status": capture.status,
            "content_type": capture.headers.get("content-type"),
            "length": capture.length,
        }
    ).encode()


def dead_letter_for(capture: Capture, skip: Skip, path: str, max_bytes: int | None) -> Output:
    error: NewswireError
    message = f"{path} at byte {capture.offset}: {skip.message}"
    if skip.reason == "too_large":
        error = TooLargeError(message)
    elif skip.reason == "warc_record":
        error = ArchiveRecordError(message)
    else:
        error = NewswireError(message, reason=skip.reason)
    key = (capture.target_uri or f"{path}#{capture.offset}").encode()
    source = Source(None, None, capture.offset, key)
    return dead_letter(STAGE, source, describe(capture, path), error, max_bytes=max_bytes)
