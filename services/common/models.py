"""Message models: the code side of the topic contracts in `schemas/`.

Each topic's JSON Schema file is generated from these models (`newswire schemas
--write`) and a test fails when the two drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.common.errors import DecodeError, SchemaError

SCHEMA_VERSION = 1

Stage = Literal["fetcher", "cleaner", "enricher", "dedup"]
Verdict = Literal["new", "duplicate", "update"]
# Where an article's metadata field came from: the page's JSON-LD, its meta tags, its
# visible text, the feed entry, or (site only) the URL's host.
MetadataSource = Literal["json-ld", "meta", "text", "feed", "url"]
# Whether the fetcher requests a feed's article pages (Miniflux's "fetch original
# content"): always; never (the article comes from the feed's content or summary); auto
# (only when the feed's content is not already the whole article: fetcher/parse/fullcontent.py).
FeedPages = Literal["auto", "always", "never"]
# Where an article's body came from: its page, the feed entry's full content, or (when
# the entry had no content) its summary.
BodySource = Literal["page", "feed_content", "feed_summary"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every record on a Newswire topic."""

    # Unknown fields are ignored so a newer producer does not break an older consumer.
    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION


class Trace(BaseModel):
    """When the record was fetched and when each stage processed it (end-to-end latency)."""

    model_config = ConfigDict(extra="ignore")

    fetched_at: AwareDatetime | None = None
    stages: dict[str, AwareDatetime] = Field(default_factory=dict)

    def stamped(self, stage: str, at: datetime | None = None) -> Trace:
        return self.model_copy(update={"stages": {**self.stages, stage: at or utcnow()}})


class FeedRecord(Message):
    """newswire.feeds: a feed registration (compacted; a null value removes the feed)."""

    url: str
    title: str | None = None
    tags: list[str] = Field(default_factory=list)
    added_at: AwareDatetime = Field(default_factory=utcnow)
    # None: the fetcher's NEWSWIRE_FEED_PAGES.
    pages: FeedPages | None = None


class FeedPoll(Message):
    """newswire.feed-polls (internal): the scheduler asks the poller to poll one feed now."""

    url: str
    partition: int = Field(ge=0)
    requested_at: AwareDatetime = Field(default_factory=utcnow)


class Entry(Message):
    """newswire.entries: one new item of a feed, keyed by its article's host."""

    entry_id: str
    feed_url: str
    link: str
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    # The entry's full content as the feed carries it (RSS content:encoded, Atom content,
    # JSON Feed content_html or content_text): HTML or text, cut at
    # NEWSWIRE_FEED_CONTENT_MAX_BYTES (on a UTF-8 character boundary), then `content_truncated`.
    content: str | None = None
    content_truncated: bool = False
    # Its feed's page mode when the entry was found, so the page fetcher needs no lookup.
    pages: FeedPages = "always"
    authors: list[str] = Field(default_factory=list)
    published: AwareDatetime | None = None
    updated: AwareDatetime | None = None
    discovered_at: AwareDatetime = Field(default_factory=utcnow)
    trace: Trace = Field(default_factory=Trace)


class Page(Message):
    """newswire.pages: an article page as fetched, keyed by article id."""

    article_id: str
    url: str
    final_url: str
    redirects: list[str] = Field(default_factory=list)
    status: int
    content_type: str
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # The page's <link rel="canonical">, resolved against final_url.
    canonical_url: str | None = None
    body: str
    body_bytes: int = Field(ge=0)
    fetched_at: AwareDatetime = Field(default_factory=utcnow)
    # "page": the body is the page as fetched. Otherwise the page was not requested (the
    # feed's `pages` mode) or could not be had (`page_error`: the reason its dead letter
    # gives, e.g. "http_status", "robots", "timeout"), and the body is the entry's content
    # or summary; then `status` is the page's HTTP status, or 0 without an answer.
    body_source: BodySource = "page"
    page_error: str | None = None
    # Set by `newswire backfill`: the WARC-Record-ID (or, from an ARC file, the record's
    # file and offset) of the capture this page was read from, for provenance.
    warc_record_id: str | None = None
    entry: Entry
    trace: Trace = Field(default_factory=Trace)

    @classmethod
    def direct(cls, article_id: str, entry: Entry, body: str, content_type: str) -> Page:
        """A page read straight from the entry's link (200, no redirect): tools and tests."""
        return cls(
            article_id=article_id,
            url=entry.link,
            final_url=entry.link,
            status=200,
            content_type=content_type,
            body=body,
            body_bytes=len(body.encode()),
            entry=entry,
        )


class Article(Message):
    """newswire.articles: clean article text and metadata, keyed by article id."""

    id: str
    url: str
    canonical_url: str | None = None
    feed_url: str | None = None
    site: str | None = None
    title: str | None = None
    byline: str | None = None
    # One entry per author when the page names several (the byline is their display form).
    authors: list[str] = Field(default_factory=list)
    published: AwareDatetime | None = None
    modified: AwareDatetime | None = None
    language_hint: str | None = None
    top_image: str | None = None
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    # Field name -> where its value came from, for each metadata field that has one.
    metadata_sources: dict[str, MetadataSource] = Field(default_factory=dict)
    text: str
    paragraphs: list[str]
    # The body as Markdown (headings, lists) when NEWSWIRE_CLEANER_MARKDOWN is on.
    markdown: str | None = None
    # Lines the cruft filter removed, counted by rule name (for debugging extraction).
    removed_lines: dict[str, int] = Field(default_factory=dict)
    # "page" unless the page was not requested or could not be had: then the feed entry's
    # content ("feed_content", cleaned like a page) or its summary ("feed_summary").
    body_source: BodySource = "page"
    trace: Trace = Field(default_factory=Trace)


EntityLabel = Literal["PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"]
PlaceKind = Literal["country", "region", "city", "water", "area"]


class Mention(BaseModel):
    """Where a name occurs in the article's `text` (character offsets, end exclusive)."""

    model_config = ConfigDict(extra="ignore")

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Entity(BaseModel):
    """A person, organisation, place or group named in the body, under one canonical name."""

    model_config = ConfigDict(extra="ignore")

    # The fullest form within the article: a later "Haniyeh" counts as "Ismail Haniyeh".
    text: str
    label: EntityLabel
    count: int = Field(ge=1)
    mentions: list[Mention] = Field(default_factory=list)
    # Also named in the headline (the headline itself is never searched for new names).
    in_title: bool = False


class Place(BaseModel):
    """A place entity resolved against the gazetteer."""

    model_config = ConfigDict(extra="ignore")

    name: str
    kind: PlaceKind
    # ISO 3166-1 alpha-2; None for places in no single country (seas, continents).
    country_code: str | None = Field(None, pattern="^[A-Z]{2}$")
    latitude: float | None = Field(None, ge=-90.0, le=90.0)
    longitude: float | None = Field(None, ge=-180.0, le=180.0)
    geonameid: int | None = None
    count: int = Field(1, ge=1)


class Keyword(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    # YAKE's score: lower is more relevant.
    score: float = Field(ge=0.0)


class Quote(BaseModel):
    """A direct quotation and who said it (a canonical entity name where one is known)."""

    model_config = ConfigDict(extra="ignore")

    text: str
    speaker: str | None = None
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Enriched(Article):
    """newswire.enriched: an article plus what the enricher computed from its body."""

    language: str | None = None
    language_confidence: float | None = Field(None, ge=0.0, le=1.0)
    word_count: int = Field(0, ge=0)
    reading_time_seconds: int = Field(0, ge=0)
    summary: list[str] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    keywords: list[Keyword] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)
    # Unit-length sentence embedding of headline and lead (cosine = dot product), and the
    # model that made it: only vectors of the same model are comparable.
    embedding: list[float] | None = None
    embedding_model: str | None = None
    # Enricher name -> why it left its fields empty.
    enrichment_errors: dict[str, str] = Field(default_factory=dict)
    # Enricher name -> why it did not apply (e.g. no NER model for the language): not a failure.
    enrichment_skipped: dict[str, str] = Field(default_factory=dict)


class Story(Message):
    """newswire.stories: every article once, with its dedup verdict, keyed by story id."""

    story_id: str
    article_id: str
    verdict: Verdict
    # duplicate: the earlier article it copies; update: its previous version's id.
    duplicate_of: str | None = None
    # 1 for a first version; an update counts up, with the characters it gained (or lost).
    version: int = Field(1, ge=1)
    size_change: int = 0
    # What decided a duplicate or an update: "none", "url", "hash" or "near".
    match: Literal["none", "url", "hash", "near"] = "none"
    # Near-duplicates: estimated Jaccard with the original, and share of the smaller text.
    similarity: float | None = Field(None, ge=0.0, le=1.0)
    containment: float | None = Field(None, ge=0.0, le=1.0)
    content_hash: str
    decided_at: AwareDatetime = Field(default_factory=utcnow)
    article: Enriched


# Dedup's days count from the Unix epoch and are stored in two bytes (dedup/lsh.py).
MAX_DAY = 65535
# A Kafka offset (dedup's sequence numbers are offsets) is a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1


class DedupPrep(BaseModel):
    """What dedup computed of an article before it entered the sequence (dedup/engine.py)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    url_key: str
    digest: str
    chars: int = Field(ge=0)
    day: int | None = Field(None, ge=0, le=MAX_DAY)
    at: float | None = None
    shingles: int = Field(0, ge=0)
    signature: str = ""  # base64 of the MinHash signature; "" without a sketch
    bands: list[str] = Field(default_factory=list)
    story_keys: list[str] = Field(default_factory=list)
    features: dict[str, int] = Field(default_factory=dict)
    language: str | None = None


class DedupSequenced(Message):
    """newswire.dedup-sequence (internal): an article in its decision sequence (the
    partition of its story scope); its offset there is its sequence number."""

    prep: DedupPrep
    article: Enriched


DedupKind = Literal["url", "hash", "band", "story"]


class DedupLookup(BaseModel):
    """One keyed lookup: what kind of key, the key, and (in an answer) what was found."""

    model_config = ConfigDict(extra="ignore")

    kind: DedupKind
    key: str
    # In an answer: the earlier articles found, by sequence number.
    found: list[int] = Field(default_factory=list)


class DedupQuestion(Message):
    """newswire.dedup-lookups (internal): the lookups of the article at `seq` whose keys
    fall in this record's partition (all of them keyed, and partitioned, by key)."""

    seq: int = Field(ge=0, le=MAX_OFFSET)
    day: int = Field(ge=0, le=MAX_DAY)
    lookups: list[DedupLookup]
    # The decision sequence asking (a partition of newswire.dedup-sequence): its keys
    # are filed apart from other sequences', its answers go to its answers partition.
    sequence: int = Field(0, ge=0)
    # The lowest sequence number the sequence's decider had not decided when this was
    # asked: the lookups keep every entry at or above it, so a question asked again is
    # answered as it was the first time (dedup/lookups.py). Absent: trimmed as before.
    floor: int | None = Field(None, ge=0, le=MAX_OFFSET)


class DedupAnswer(Message):
    """newswire.dedup-answers (internal): lookups answered for the article at `seq`, or
    (kind "head") the article itself with how many lookups it waits for."""

    seq: int = Field(ge=0, le=MAX_OFFSET)
    kind: Literal["head", "answers"]
    lookups: list[DedupLookup] = Field(default_factory=list)
    # head: the number of distinct lookups asked, and the article.
    expect: int | None = Field(None, ge=0)
    record: DedupSequenced | None = None
    # head: the stream's day at the article (dedup/clock.py), which its lookups used.
    day: int | None = Field(None, ge=0, le=MAX_DAY)


class DeadLetter(Message):
    """newswire.dlq: a record a stage could not handle, with the reason and the original bytes."""

    stage: str
    reason: str
    error: str
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    key: str | None = None
    original_b64: str
    # The original's full size; original_b64 holds only its head when the whole would
    # not fit in one broker message (the record it came from was itself near the limit).
    original_bytes: int | None = None
    original_truncated: bool = False
    failed_at: AwareDatetime = Field(default_factory=utcnow)


class BackfillProgress(Message):
    """newswire.backfill-progress (compacted): how far `newswire backfill` got in one
    archive file, keyed by the file's key (services/backfill/progress.py)."""

    path: str
    size: int = Field(ge=0)
    # The byte offset of the first record not yet sent and acknowledged; `done` once the
    # whole file (of `size` bytes) was.
    offset: int = Field(ge=0)
    done: bool = False
    records: int = Field(0, ge=0)
    updated_at: AwareDatetime = Field(default_factory=utcnow)


class DlqReplay(Message):
    """newswire.dlq-replays (compacted): a dead letter `newswire dlq replay` sent back to
    its source topic, keyed by the dead letter's id (`partition:offset` on newswire.dlq),
    so a second replay does not send it again."""

    dlq_id: str
    stage: str
    reason: str
    to_topic: str
    replayed_at: AwareDatetime = Field(default_factory=utcnow)


TOPIC_MODELS: dict[str, type[Message]] = {
    "feeds.schema.json": FeedRecord,
    "feed-polls.schema.json": FeedPoll,
    "entries.schema.json": Entry,
    "pages.schema.json": Page,
    "articles.schema.json": Article,
    "enriched.schema.json": Enriched,
    "stories.schema.json": Story,
    "dedup-sequence.schema.json": DedupSequenced,
    "dedup-lookups.schema.json": DedupQuestion,
    "dedup-answers.schema.json": DedupAnswer,
    "dlq.schema.json": DeadLetter,
    "backfill-progress.schema.json": BackfillProgress,
    "dlq-replays.schema.json": DlqReplay,
}

M = TypeVar("M", bound=BaseModel)


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json(exclude_none=False).encode()


def decode(model: type[M], raw: bytes | str | None) -> M:
    """Parse a record's value; tell bytes that are not JSON from JSON of the wrong shape."""
    if raw is None:
        raise DecodeError("empty record value (tombstone?)")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise DecodeError(f"value is not JSON: {exc.errors()[0]['msg']}") from exc
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise SchemaError(
            f"{model.__name__} invalid at {where}: {first['msg']} ({exc.error_count()} errors)"
        ) from exc
