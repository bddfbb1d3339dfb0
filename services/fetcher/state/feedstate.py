"""Per-feed polling state, as stored in the fetcher's table (keyed by feed URL), and scheduling."""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter

from services.common.models import FeedPages, utcnow

# How far back entry times are kept to estimate a feed's publishing frequency.
FREQUENCY_WINDOW = timedelta(days=7)
FREQUENCY_SAMPLES = 50

# How the stored JSON is split so a poll need not decode the seen ids (up to thousands a
# feed, most of the bytes): `seen` is serialised last, so everything before its key is
# the rest of the state. The keys are matched with their leading comma and quote: in
# valid JSON an unescaped quote after a comma opens a string, so this text can only be
# the key itself (the state has no nested objects), never part of a value.
_SEEN_KEY = ',"seen":'
_ENTRY_TIMES_KEY = ',"entry_times":'
_SEEN_IDS: TypeAdapter[list[str]] = TypeAdapter(list[str])
# Below this many bytes of seen ids, decoding them costs less than splitting them off.
DEFER_SEEN_BYTES = 1024


class FeedState(BaseModel):
    url: str
    partition: int
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    validators_at: AwareDatetime | None = None
    not_modified_streak: int = 0
    next_poll_at: AwareDatetime = Field(default_factory=utcnow)
    last_polled_at: AwareDatetime | None = None
    last_status: int | None = None
    # Digest of the last full body: an unchanged body is not parsed again (many servers
    # send no validators, so they answer 200 with the same bytes every time).
    body_digest: str | None = None
    error_count: int = 0
    last_error: str | None = None
    # The feed's own `pages` mode (None: NEWSWIRE_FEED_PAGES), given to its entries.
    pages: FeedPages | None = None
    # When new entries were seen (most recent last), for the frequency estimate.
    entry_times: list[AwareDatetime] = Field(default_factory=list)
    # Most recent last: ids of entries already emitted, bounded per feed. Declared last
    # so that it is serialised last (see StoredState).
    seen: list[str] = Field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.error_count > 0

    def remember(self, ids: list[str], bound: int, present: Collection[str] = ()) -> None:
        """Add the ids of new entries; keep at most `bound`, dropping the oldest, but
        never one still in the feed (`present`): it would come back as new at the
        next change (a sitemap lists thousands of URLs)."""
        seen = self.seen + ids
        excess = len(seen) - max(bound, len(present))
        if excess > 0:
            drop: set[str] = set()
            for entry_id in seen:
                if len(drop) == excess:
                    break
                if entry_id not in present:
                    drop.add(entry_id)
            seen = [entry_id for entry_id in seen if entry_id not in drop]
        self.seen = seen

    def saw_entries(self, times: list[datetime], now: datetime) -> None:
        recent = [t for t in [*self.entry_times, *times] if now - t <= FREQUENCY_WINDOW]
        self.entry_times = sorted(recent)[-FREQUENCY_SAMPLES:]


class StoredState:
    """A FeedState as read from the table for a poll, with its seen ids (most of the
    bytes of a busy feed's state) left as JSON text until asked for: a poll answered
    304, or with a body seen before, neither decodes nor re-encodes them.

    `state.seen` is empty while they are deferred: read them through `seen_ids()`, and
    write the state back with `dump()`. Kept out of FeedState itself because a pydantic
    private attribute slows every validation of the model down.
    """

    __slots__ = ("_seen_json", "state")

    def __init__(self, raw: str | bytes) -> None:
        text = raw.decode() if isinstance(raw, bytes) else raw
        self._seen_json: str | None = None
        at = text.find(_SEEN_KEY)
        # Deferred only in the layout FeedState serialises to (`seen` after entry_times,
        # last); earlier versions stored `seen` before entry_times: decoded whole.
        if (
            at < 0
            or len(text) - at < DEFER_SEEN_BYTES
            or text.find(_ENTRY_TIMES_KEY, 0, at) < 0
            or not text.endswith("]}")
        ):
            self.state = FeedState.model_validate_json(text)
        else:
            self.state = FeedState.model_validate_json(text[:at] + "}")
            self._seen_json = text[at + len(_SEEN_KEY) : -1]

    def seen_ids(self) -> list[str]:
        """The seen ids, decoded now if they were deferred (then in `state.seen` too)."""
        if self._seen_json is not None:
            self.state.seen = _SEEN_IDS.validate_json(self._seen_json)
            self._seen_json = None
        return self.state.seen

    def dump(self) -> str:
        """The table value: the state's JSON, deferred seen ids copied back as they were."""
        if self._seen_json is None:
            return self.state.model_dump_json()
        head = self.state.model_dump_json(exclude={"seen"})
        return f"{head[:-1]}{_SEEN_KEY}{self._seen_json}}}"


def frequency_interval(entry_times: list[datetime], now: datetime, max_interval_s: float) -> float:
    """Seconds between polls suggested by how often the feed published lately.

    In the spirit of Miniflux's entry-frequency scheduler: the time covered by the
    recent entries divided by their number (so the bounded sample still measures a
    busy feed); a feed with nothing new in the window gets the maximum.
    """
    recent = [t for t in entry_times if now - t <= FREQUENCY_WINDOW]
    if not recent:
        return max_interval_s
    span = max((now - min(recent)).total_seconds(), 60.0)
    return min(span / len(recent), max_interval_s)


def next_success_poll(
    now: datetime,
    state: FeedState,
    *,
    min_interval_s: float,
    max_interval_s: float,
    ttl_s: int | None = None,
    max_age_s: int | None = None,
) -> datetime:
    """After a good poll: the feed's own frequency, no sooner than <ttl> or max-age asks,
    always within [min, max]."""
    wait = frequency_interval(state.entry_times, now, max_interval_s)
    wait = max(wait, float(ttl_s or 0), float(max_age_s or 0))
    return now + timedelta(seconds=min(max(wait, min_interval_s), max_interval_s))


def next_error_poll(
    now: datetime,
    errors: int,
    *,
    min_interval_s: float,
    max_interval_s: float,
    retry_after_s: float | None = None,
) -> datetime:
    """Exponential backoff with jitter, capped: a failing feed is retried forever, less often.

    A server's Retry-After is honoured even beyond the cap, up to a day.
    """
    base = min(max_interval_s, min_interval_s * (2 ** min(errors - 1, 16)))
    wait = base * random.uniform(0.8, 1.2)
    if retry_after_s is not None:
        wait = max(wait, min(retry_after_s, 86400.0))
    return now + timedelta(seconds=wait)
