"""Topic names, keys and configuration: the one place that defines them.

`schemas/README.md` documents the same table for consumers; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiokafka.partitioner import murmur2

if TYPE_CHECKING:
    from services.common.settings import Settings

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    schema: str
    compacted: bool = False
    retention_ms: int | None = 7 * DAY_MS
    internal: bool = False
    # Extra topic configs (e.g. a raised max.message.bytes for raw pages).
    config: dict[str, str] = field(default_factory=dict)
    # A fixed partition count, or the name of the setting that gives it; None:
    # NEWSWIRE_TOPIC_PARTITIONS.
    partitions: int | str | None = None

    def partition_count(self, settings: Settings) -> int:
        """How many partitions the topic has (is created with) under `settings`."""
        if isinstance(self.partitions, str):
            return int(settings.value(self.partitions))
        return self.partitions or settings.kafka.topic_partitions

    def topic_configs(self, max_message_bytes: int) -> dict[str, str]:
        cfg = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None and not self.compacted:
            cfg["retention.ms"] = str(self.retention_ms)
        cfg["max.message.bytes"] = str(max_message_bytes)
        cfg.update(self.config)
        return cfg


FEEDS = TopicSpec("newswire.feeds", "feed URL", "feeds.schema.json", compacted=True)
FEED_POLLS = TopicSpec(
    "newswire.feed-polls",
    "feed URL",
    "feed-polls.schema.json",
    retention_ms=1 * DAY_MS,
    internal=True,
)
ENTRIES = TopicSpec("newswire.entries", "article host", "entries.schema.json")
PAGES = TopicSpec("newswire.pages", "article id", "pages.schema.json", retention_ms=3 * DAY_MS)
ARTICLES = TopicSpec("newswire.articles", "article id", "articles.schema.json")
ENRICHED = TopicSpec("newswire.enriched", "article id", "enriched.schema.json")
# Dedup's hops (services/dedup/app.py). Each partition of the sequence is one decision
# sequence (a story scope, services/dedup/scope.py; one by default): its offsets number
# its articles, and "earlier" means earlier in it. The lookups are partitioned by what
# they look up (URL key, content hash, band key, story key); the answers come back to
# the answers partition of their sequence, where decisions are made in sequence order.
# Kept as long as newswire.enriched: a decider down for days loses nothing.
DEDUP_SEQUENCE = TopicSpec(
    "newswire.dedup-sequence",
    "article id",
    "dedup-sequence.schema.json",
    retention_ms=7 * DAY_MS,
    internal=True,
    partitions="dedup_sequences",
)
DEDUP_LOOKUPS = TopicSpec(
    "newswire.dedup-lookups",
    "sequence number (in the partition of the lookup keys it carries)",
    "dedup-lookups.schema.json",
    retention_ms=7 * DAY_MS,
    internal=True,
)
DEDUP_ANSWERS = TopicSpec(
    "newswire.dedup-answers",
    "sequence number",
    "dedup-answers.schema.json",
    retention_ms=7 * DAY_MS,
    internal=True,
    partitions="dedup_sequences",
)
STORIES = TopicSpec("newswire.stories", "story id", "stories.schema.json", retention_ms=30 * DAY_MS)
DLQ = TopicSpec(
    "newswire.dlq", "article id (or source key)", "dlq.schema.json", retention_ms=30 * DAY_MS
)
# `newswire backfill`'s resume state: one record per archive file, the latest wins.
BACKFILL_PROGRESS = TopicSpec(
    "newswire.backfill-progress",
    "archive file key",
    "backfill-progress.schema.json",
    compacted=True,
    internal=True,
)
# What `newswire dlq replay` sent back: one record per dead letter replayed.
DLQ_REPLAYS = TopicSpec(
    "newswire.dlq-replays",
    "dead letter id (partition:offset)",
    "dlq-replays.schema.json",
    compacted=True,
    internal=True,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    FEEDS,
    FEED_POLLS,
    ENTRIES,
    PAGES,
    ARTICLES,
    ENRICHED,
    DEDUP_SEQUENCE,
    DEDUP_LOOKUPS,
    DEDUP_ANSWERS,
    STORIES,
    DLQ,
    BACKFILL_PROGRESS,
    DLQ_REPLAYS,
)
BY_NAME: dict[str, TopicSpec] = {t.name: t for t in ALL_TOPICS}


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives `key`.

    Pages are keyed by article id but placed in their host's partition (the one the
    host's entries are in), so everything about one site meets in one cleaner.
    """
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions
