"""The fetcher's steps as functions over records and state; the agents only wire them up."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from services.common import metrics
from services.common.errors import FeedParseError, FetchError, UnsupportedContentError
from services.common.models import Entry, FeedPoll, FeedRecord, Page, Trace, decode, encode, utcnow
from services.common.settings import Settings
from services.common.stage import Output, Source, dead_letter
from services.common.topics import ENTRIES, FEED_POLLS, PAGES
from services.common.urls import article_id, host_of
from services.fetcher.charset import decode_body
from services.fetcher.feeds import ParsedFeed, parse_feed
from services.fetcher.http import HttpClient, Response
from services.fetcher.state import FeedState, next_error_poll, next_success_poll

log = logging.getLogger(__name__)

STAGE = "fetcher"
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
FeedTable = MutableMapping[str, str]


def load_state(table: FeedTable, url: str) -> FeedState | None:
    raw = table.get(url)
    return FeedState.model_validate_json(raw) if raw else None


def register_feed(
    raw: bytes | None, *, key: bytes | None, partition: int, table: FeedTable
) -> list[Output]:
    """A newswire.feeds record: start tracking a new feed, or stop on a tombstone."""
    if raw is None:
        url = (key or b"").decode()
        if url in table:
            del table[url]
            log.info("feed removed: %s", url)
        return []
    record = decode(FeedRecord, raw)
    state = load_state(table, record.url)
    if state is None:
        state = FeedState(url=record.url, partition=partition, title=record.title)
        log.info("feed added: %s (partition %d)", record.url, partition)
    else:
        state.title = record.title or state.title
    table[record.url] = state.model_dump_json()
    return []


def entries_from(parsed: ParsedFeed, state: FeedState, feed_url: str) -> list[Entry]:
    seen = set(state.seen)
    now = utcnow()
    return [
        Entry(
            entry_id=item.entry_id,
            feed_url=feed_url,
            link=item.link,
            guid=item.guid,
            title=item.title,
            summary=item.summary,
            authors=item.authors,
            published=item.published,
            updated=item.updated,
            discovered_at=now,
            trace=Trace().stamped("poller", now),
        )
        for item in parsed.entries
        if item.entry_id not in seen
    ]


async def poll_feed(
    raw: bytes | None, *, table: FeedTable, client: HttpClient, settings: Settings
) -> list[Output]:
    """Poll one feed with conditional GET; emit its unseen entries; update its state."""
    command = decode(FeedPoll, raw)
    state = load_state(table, command.url)
    if state is None:
        return []  # removed since the poll was scheduled
    now = utcnow()
    state.last_polled_at = now
    outputs: list[Output] = []
    try:
        resp = await client.get(
            state.url, kind="feed", etag=state.etag, last_modified=state.last_modified
        )
        if resp.status == 304:
            metrics.FETCH_NOT_MODIFIED.inc()
            ttl = None
        else:
            parsed = parse_feed(resp.body, url=state.url, content_type=resp.content_type)
            new = entries_from(parsed, state, state.url)
            outputs = [Output(ENTRIES.name, host_of(e.link).encode(), encode(e)) for e in new]
            state.remember([e.entry_id for e in new], settings.seen_entries_per_feed)
            # Validators only from a full 200 answer: a 304 has none of its own.
            state.etag = resp.headers.get("etag")
            state.last_modified = resp.headers.get("last-modified")
            state.title = state.title or parsed.title
            ttl = parsed.ttl_seconds
            metrics.FEED_ENTRIES_NEW.inc(len(new))
        state.error_count, state.last_error = 0, None
        state.next_poll_at = next_success_poll(
            now, settings.poll_interval_seconds, settings.poll_min_interval_seconds, ttl
        )
    except (FetchError, FeedParseError) as exc:
        # Counted and dead-lettered (so a broken feed is visible downstream), and the
        # feed stays scheduled: it is retried with backoff for as long as it is listed.
        metrics.FEED_POLL_ERRORS.labels(exc.reason).inc()
        metrics.DLQ_RECORDS.labels(STAGE, exc.reason).inc()
        outputs = [
            dead_letter(
                STAGE,
                Source(FEED_POLLS.name, command.partition, None, state.url.encode()),
                raw,
                exc,
            )
        ]
        state.error_count += 1
        state.last_error = f"{exc.reason}: {exc}"[:500]
        state.next_poll_at = next_error_poll(
            now,
            state.error_count,
            settings.poll_min_interval_seconds,
            settings.poll_interval_seconds,
        )
        log.warning("feed %s failed (%d in a row): %s", state.url, state.error_count, exc)
    table[state.url] = state.model_dump_json()
    return outputs


def build_page(entry: Entry, resp: Response) -> Page:
    if resp.media_type not in PAGE_TYPES:
        raise UnsupportedContentError(
            f"content type {resp.media_type or 'missing'!r} is not a page"
        )
    text, charset = decode_body(resp.body, resp.charset)
    now = utcnow()
    return Page(
        article_id=article_id(entry.link),
        url=entry.link,
        final_url=resp.final_url,
        redirects=resp.redirects,
        status=resp.status,
        content_type=resp.content_type or resp.media_type,
        charset=charset,
        etag=resp.headers.get("etag"),
        last_modified=resp.headers.get("last-modified"),
        body=text,
        body_bytes=len(resp.body),
        fetched_at=now,
        entry=entry,
        trace=entry.trace.model_copy(update={"fetched_at": now}).stamped(STAGE, now),
    )


async def fetch_page(raw: bytes | None, *, client: HttpClient) -> list[Output]:
    entry = decode(Entry, raw)
    page = build_page(entry, await client.get(entry.link, kind="page"))
    return [Output(PAGES.name, page.article_id.encode(), encode(page))]
