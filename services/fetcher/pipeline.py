"""The fetcher's steps as functions over records and state; the agents only wire them up.

They return what they made of a record, failures in their places and counts beside
(`Outcome`); the Stage around them dead-letters and counts (services.common.stage).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from services.common import tracing
from services.common.charset import decode_body
from services.common.errors import (
    FeedParseError,
    FetchError,
    HttpStatusError,
    NewswireError,
    UnsupportedContentError,
)
from services.common.models import (
    Entry,
    FeedPages,
    FeedPoll,
    FeedRecord,
    Page,
    Trace,
    decode,
    encode,
    utcnow,
)
from services.common.stage import Counts, Failure, Outcome, Output, Source, Stage
from services.common.topics import ENTRIES, FEED_POLLS, PAGES, partition_for
from services.common.urls import article_id, host_of
from services.common.warcarchive import WarcArchive
from services.fetcher import fallback
from services.fetcher.config import PollConfig
from services.fetcher.net.caching import max_age_seconds, retry_after_seconds, validators_trusted
from services.fetcher.net.http import HttpClient, Response
from services.fetcher.net.politeness import HostGate
from services.fetcher.net.robots import RobotsCache
from services.fetcher.parse import fullcontent
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.parse.model import ParsedFeed
from services.fetcher.state.feedstate import (
    FeedState,
    StoredState,
    next_error_poll,
    next_success_poll,
)

log = logging.getLogger(__name__)

STAGE = "fetcher"
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
FeedTable = MutableMapping[str, str]


def fetcher_stage(*, max_message_bytes: int | None = None) -> Stage:
    """The Stage the fetcher's transforms run in outside the agents (tools, tests)."""
    return Stage(STAGE, max_message_bytes=max_message_bytes)


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
        state = FeedState(
            url=record.url, partition=partition, title=record.title, pages=record.pages
        )
        log.info("feed added: %s (partition %d)", record.url, partition)
    else:
        state.title = record.title or state.title
        state.pages = record.pages
    table[record.url] = state.model_dump_json()
    return []


def entries_from(
    parsed: ParsedFeed,
    state: FeedState,
    feed_url: str,
    *,
    pages: FeedPages = "always",
    content_max_bytes: int = 256 * 1024,
) -> list[Entry]:
    """The feed's unseen entries; `pages` is the mode for a feed that sets none."""
    seen = set(state.seen)
    now = utcnow()
    mode = state.pages or pages
    entries = []
    for item in parsed.entries:
        if item.entry_id in seen:
            continue
        content, truncated = cap_utf8(item.content, content_max_bytes)
        entries.append(
            Entry(
                entry_id=item.entry_id,
                feed_url=feed_url,
                link=item.link,
                guid=item.guid,
                title=item.title,
                summary=item.summary,
                content=content,
                content_truncated=truncated,
                pages=mode,
                authors=item.authors,
                published=item.published,
                updated=item.updated,
                discovered_at=now,
                # What Trace().stamped("poller", now) gives, without a model copy per entry.
                trace=Trace(stages={"poller": now}),
            )
        )
    return entries


def cap_utf8(text: str | None, max_bytes: int) -> tuple[str | None, bool]:
    """`text` cut to at most `max_bytes` of UTF-8 on a character boundary, and whether it was."""
    if text is None or len(text) * 4 <= max_bytes:  # no character is over 4 bytes
        return text, False
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text, False
    # errors="ignore" drops only the partial character left at the cut.
    return data[:max_bytes].decode("utf-8", "ignore"), True


@dataclass
class PolledFeed:
    """A poll's records, and the feed state to write once they are on the broker.

    Written before, a process that died between the state's changelog write and the
    send would never emit those entries: the state says they were seen (issue 13).
    Written after, it emits them again after a restart: redone, never lost.
    """

    outcome: Outcome
    table: FeedTable
    url: str = ""
    stored_raw: str = ""
    state: StoredState | None = None

    def save(self) -> None:
        """Write the polled state back, unless the feed changed under the poll."""
        if self.state is None:
            return
        latest = self.table.get(self.url)
        if latest is None:
            # Removed while it was polled: writing the state back would bring it back.
            log.info("feed %s was removed during its poll; its state is dropped", self.url)
            return
        state = self.state.state
        if latest != self.stored_raw:  # str equality checks identity first: free when unchanged
            # Registered again meanwhile (a new title or pages mode): that change wins.
            registered = FeedState.model_validate_json(latest)
            state.title = registered.title or state.title
            state.pages = registered.pages
        self.table[self.url] = self.state.dump()


async def poll_feed(
    raw: bytes | None,
    *,
    table: FeedTable,
    client: HttpClient,
    config: PollConfig,
    stage: Stage | None = None,
) -> list[Output]:
    """Poll one feed and write its state at once (tools and tests; the agent sends the
    records first: `plan_poll`). Failures are dead-lettered and counted by `stage` (the
    fetcher's by default); what escapes the poll itself is raised."""
    polled = await plan_poll(raw, table=table, client=client, config=config)
    source = Source(FEED_POLLS.name, None, None, None)
    outputs = (stage or fetcher_stage()).settle(source, raw, polled.outcome, counted=False)
    polled.save()
    return outputs


async def plan_poll(
    raw: bytes | None, *, table: FeedTable, client: HttpClient, config: PollConfig
) -> PolledFeed:
    """Poll one feed with conditional GET: its unseen entries (a failure dead-lettered
    under the feed's URL) and its new state, which `save` writes (after the entries are
    on the broker)."""
    command = decode(FeedPoll, raw)
    counts = Counts()
    stored_raw = table.get(command.url)
    if not stored_raw:
        return PolledFeed(Outcome(), table)  # removed since the poll was scheduled
    stored = StoredState(stored_raw)
    state = stored.state
    if state.last_polled_at is not None and state.last_polled_at >= command.requested_at:
        # Polled since this command was sent: a copy (the scheduler re-sends a command
        # that seems lost, and again after a rebalance). Polling again would make the
        # copies pile up whenever the poll topic lags.
        counts.add("feed_polls_stale")
        return PolledFeed(Outcome(counts=counts), table)
    now = utcnow()
    state.last_polled_at = now
    outputs: list[Output | Failure] = []
    bounds = {"min_interval_s": config.min_interval_s, "max_interval_s": config.max_interval_s}
    try:
        etag, last_modified = config.validators(state, now)
        resp = await client.get(state.url, kind="feed", etag=etag, last_modified=last_modified)
        state.last_status = resp.status
        if resp.status == 304:
            counts.add("fetch_not_modified")
            state.not_modified_streak += 1
            ttl = None
        elif (digest := body_digest(resp.body)) == state.body_digest:
            counts.add("fetch_unchanged")
            state.not_modified_streak = 0
            _store_validators(state, resp.headers, now)
            ttl = None
        else:
            parsed = parse_feed(resp.body, url=resp.final_url, content_type=resp.content_type)
            first_body = not stored.seen_ids()  # decoded only now, for a new body
            new = entries_from(
                parsed,
                state,
                state.url,
                pages=config.pages,
                content_max_bytes=config.content_max_bytes,
            )
            source = Source(FEED_POLLS.name, command.partition, None, state.url.encode())
            outputs, emitted = entry_records(new, source, counts)
            state.remember(
                [e.entry_id for e in new],
                config.seen_entries,
                present={item.entry_id for item in parsed.entries},
            )
            state.saw_entries(publication_times(emitted, now, first_body=first_body), now)
            _store_validators(state, resp.headers, now)
            state.title = state.title or parsed.title
            ttl = parsed.ttl_seconds
            # Last: a body counts as seen only once its entries are out. Set earlier, a
            # failure after it would make the next poll skip the body as unchanged.
            state.body_digest = digest
            counts.add("feed_entries_new", n=len(emitted))
        state.error_count, state.last_error = 0, None
        state.next_poll_at = next_success_poll(
            now, state, ttl_s=ttl, max_age_s=max_age_seconds(resp.headers), **bounds
        )
    except Exception as exc:
        # Counted and dead-lettered (so a broken feed is visible downstream), and the
        # feed stays scheduled: it is retried with backoff for as long as it is listed.
        # Not only FetchError/FeedParseError: after any failure the state must be saved
        # with a backoff, or the scheduler re-polls the feed at its very next tick.
        reason = exc.reason if isinstance(exc, NewswireError) else "internal"
        if reason == "internal":
            log.exception("feed %s: unexpected failure", state.url)
        counts.add("feed_poll_errors", reason)
        source = Source(FEED_POLLS.name, command.partition, None, state.url.encode())
        outputs = [Failure(exc, source)]
        retry_after = None
        if isinstance(exc, HttpStatusError):
            state.last_status = exc.status
            if exc.status in (429, 503):
                retry_after = retry_after_seconds(exc.headers, now)
        state.error_count += 1
        state.last_error = f"{reason}: {exc}"[:500]
        state.next_poll_at = next_error_poll(
            now, state.error_count, retry_after_s=retry_after, **bounds
        )
        log.warning("feed %s failed (%d in a row): %s", state.url, state.error_count, exc)
    if command.url not in table:
        # Removed while it was polled: its results are dropped with it.
        log.info("feed %s was removed during its poll; its results are dropped", state.url)
        return PolledFeed(Outcome(counts=counts), table)  # what happened still counts
    return PolledFeed(Outcome(outputs, counts), table, command.url, stored_raw, stored)


def publication_times(entries: list[Entry], now: datetime, *, first_body: bool) -> list[datetime]:
    """When the entries were published, for the feed's frequency estimate; the time they
    were found for an undated one, except in a feed's first body: that is its backlog,
    found all at once, and would make a daily feed look like it publishes every minute."""
    return [
        min(e.published, now) if e.published else now
        for e in entries
        if e.published or not first_body
    ]


def entry_records(
    entries: list[Entry], source: Source, counts: Counts
) -> tuple[list[Output | Failure], list[Entry]]:
    """The newswire.entries records, and the entries they hold. An entry that cannot be
    keyed or encoded (a lone surrogate in its title, say) is a failure by itself (the
    poll command dead-lettered under `source`): it must not cost the feed its other
    entries."""
    outputs: list[Output | Failure] = []
    emitted: list[Entry] = []
    for entry in entries:
        try:
            outputs.append(
                Output(
                    ENTRIES.name,
                    host_of(entry.link).encode(),
                    encode(entry),
                    headers=entry_trace(entry) if tracing.enabled() else (),
                )
            )
        except ValueError as exc:  # pydantic's serialisation error is a ValueError too
            bad = FeedParseError(f"entry {entry.entry_id!r} ({entry.link}) not emitted: {exc}")
            counts.add("feed_poll_errors", bad.reason)
            outputs.append(Failure(bad, source))
            continue
        emitted.append(entry)
    return outputs, emitted


def entry_trace(entry: Entry) -> tuple[tuple[str, bytes], ...]:
    """Each article's trace starts here, when its entry is found: the headers that make
    the page fetch, and everything after it, part of that trace."""
    return tracing.start_trace(
        "feed entry",
        article_id(entry.link),
        **{"newswire.stage": STAGE, "newswire.feed": entry.feed_url, "url.full": entry.link},
    )


def body_digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _store_validators(state: FeedState, headers: dict[str, str], now: datetime) -> None:
    """Validators only from a full 200 answer, and only when the server lets them be trusted."""
    state.not_modified_streak = 0
    if validators_trusted(headers, now):
        state.etag = headers.get("etag")
        state.last_modified = headers.get("last-modified")
        state.validators_at = now if (state.etag or state.last_modified) else None
    else:
        state.etag = state.last_modified = state.validators_at = None


def build_page(entry: Entry, resp: Response, *, fetched_at: datetime | None = None) -> Page:
    """The page record of a response; `fetched_at` when it was captured earlier (an
    archive's capture time, for `newswire backfill`), else now."""
    if resp.media_type not in PAGE_TYPES:
        raise UnsupportedContentError(
            f"content type {resp.media_type or 'missing'!r} is not a page"
        )
    text, charset = decode_body(resp.body, resp.charset)
    now = utcnow()
    at = fetched_at or now
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
        canonical_url=canonical_link(text, resp.final_url)
        if resp.media_type != "text/plain"
        else None,
        body=text,
        body_bytes=len(resp.body),
        fetched_at=at,
        entry=entry,
        trace=entry.trace.model_copy(update={"fetched_at": at}).stamped(STAGE, now),
    )


async def fetch_page(
    raw: bytes | None,
    *,
    client: HttpClient,
    gate: HostGate | None = None,
    robots: RobotsCache | None = None,
    partitions: int | None = None,
) -> list[Output]:
    """Fetch an entry's page, after robots.txt agrees, in the host's turn.

    robots.txt is asked again for every redirect target: a link shortener or a moved
    article must not lead the fetcher into a path (or a host) that disallows it.
    """
    entry = decode(Entry, raw)
    page = await _fetch(entry, client=client, gate=gate, robots=robots)
    return [page_record(page, partitions)]


async def _fetch(
    entry: Entry,
    *,
    client: HttpClient,
    gate: HostGate | None,
    robots: RobotsCache | None,
    archive: WarcArchive | None = None,
) -> Page:
    crawl_delay = await robots.check(entry.link) if robots is not None else None
    hop_check = robots.check if robots is not None else None
    if gate is None:
        resp = await client.get(entry.link, kind="page", before_redirect=hop_check)
    else:
        async with gate.turn(host_of(entry.link), crawl_delay):
            resp = await client.get(entry.link, kind="page", before_redirect=hop_check)
    page = build_page(entry, resp)
    if archive is not None:
        # The raw capture outlives newswire.pages' retention (NEWSWIRE_ARCHIVE_DIR);
        # inline: about a millisecond of file I/O a page, and the writer is not
        # thread-safe.
        archive.write(page, raw=resp.body, headers=resp.headers)
    return page


def page_record(page: Page, partitions: int | None) -> Output:
    """A newswire.pages record: keyed by article id, in its host's partition (the
    cleaner's per-host table lives there)."""
    partition = partition_for(host_of(page.url), partitions) if partitions else None
    return Output(PAGES.name, page.article_id.encode(), encode(page), partition)


async def fetch_page_or_feed(
    raw: bytes | None,
    *,
    client: HttpClient,
    gate: HostGate | None = None,
    robots: RobotsCache | None = None,
    partitions: int | None = None,
    archive: WarcArchive | None = None,
) -> Outcome:
    """What the page agent does with an entry: its page, or the article from the feed.

    The feed's `pages` mode may skip the request (never; auto when the feed's content
    is the whole article). A page that cannot be had (`fallback.falls_back`) is a
    failure (the Stage dead-letters the entry, so operators see it) and the entry's
    content or summary goes to newswire.pages in its place; other failures raise, for
    `Stage.handle` to dead-letter alone.
    """
    entry = decode(Entry, raw)
    if entry.pages == "never" or (
        entry.pages == "auto" and fullcontent.is_whole_article(entry.content)
    ):
        page = fallback.feed_page(entry)
        if page is None:
            raise FetchError(
                "feed's pages mode is 'never' and the entry has no content or summary",
                reason="no_feed_content",
            )
        counts = Counts()
        counts.add("feed_fallbacks", STAGE, page.body_source, f"pages_{entry.pages}")
        return Outcome([page_record(page, partitions)], counts)
    try:
        page = await _fetch(entry, client=client, gate=gate, robots=robots, archive=archive)
    except NewswireError as exc:
        substitute = (
            fallback.feed_page(entry, status=fallback.status_of(exc), page_error=exc.reason)
            if fallback.falls_back(exc)
            else None
        )
        if substitute is None:
            raise
        # Counted and logged by the Stage as a dead letter of its own.
        counts = Counts()
        counts.add("feed_fallbacks", STAGE, substitute.body_source, exc.reason)
        return Outcome(
            [Failure(exc, note="article from the feed"), page_record(substitute, partitions)],
            counts,
        )
    return Outcome([page_record(page, partitions)])


LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
HEAD_BYTES = 256 * 1024


def canonical_link(html: str, base_url: str) -> str | None:
    """The first <link rel="canonical" href>, absolute; only the head is scanned."""
    for tag in LINK_TAG.findall(html[:HEAD_BYTES]):
        attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in ATTR.findall(tag)}
        if "canonical" in attrs.get("rel", "").lower().split() and attrs.get("href"):
            try:
                href: str = urljoin(base_url, attrs["href"].strip())
            except ValueError:  # "http://[broken/": a bad hint, not a bad page
                continue
            if href.startswith(("http://", "https://")):
                return href
    return None
