"""The dedup engine: one verdict, story id and version per article, in arrival order.

`Deduper.process` is pure apart from the stores it is given: every piece of state
lives in a `MutableMapping` keyed by one kind of lookup key, so that the Faust agent
can back each by a table partitioned by that key (`DedupStores` lists them). The
same input in the same order gives the same output, and a replay of an article
already decided (same id, same text) gets its first decision again.

Order of the checks, cheapest and most certain first:

1. URL key (canonical-URL article id, or the article's id when it has no URL): the
   same URL with the same text is a replay or a duplicate; with other text, an
   `update` (version + 1, size change).
2. Exact content hash (normalised words): `duplicate` of the first article with it.
3. Near-duplicate (MinHash/LSH, containment-verified): `duplicate` of the original.
4. Otherwise `new`, and story clustering picks (or opens) its story.

Duplicates take their original's story; updates keep their story.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.common.language import detect
from services.common.models import Verdict
from services.common.urls import article_id as canonical_article_id
from services.dedup.cluster import StoryClusterer, story_features
from services.dedup.config import DedupConfig
from services.dedup.fingerprint import content_hash
from services.dedup.idf import background_idf
from services.dedup.lsh import NearDupIndex
from services.dedup.neardup import sketch

SECONDS_PER_DAY = 86400
LANGUAGE_SAMPLE_CHARS = 1000


@dataclass
class DedupStores:
    """Dedup's state, one mapping per lookup key kind (see each module for value formats).

    articles   key = URL key (common.urls.article_id, or the article id)   JSON record
    hashes     key = content hash (64 hex)                   "<URL key> <day>"
    bands      key = LSH band key (11 chars)                 packed postings (lsh.py)
    sketches   key = sketch ref (11 chars)                   packed sketch (lsh.py)
    story_keys key = story feature ("t:term", "e:entity")    story ids (cluster.py)
    stories    key = story id                                JSON centroid (cluster.py)
    terms      key = story feature, or "#docs"               document counts (cluster.py)
    """

    articles: MutableMapping[str, str] = field(default_factory=dict)
    hashes: MutableMapping[str, str] = field(default_factory=dict)
    bands: MutableMapping[str, bytes] = field(default_factory=dict)
    sketches: MutableMapping[str, bytes] = field(default_factory=dict)
    story_keys: MutableMapping[str, str] = field(default_factory=dict)
    stories: MutableMapping[str, str] = field(default_factory=dict)
    terms: MutableMapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """What dedup needs of an article (an `Enriched` has all of it but `entities`)."""

    id: str
    text: str
    url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    published: datetime | None = None
    entities: Sequence[str] | None = None  # from the enricher; None: use the heuristic
    language: str | None = None  # ISO 639-1, from the enricher; None: detected here


@dataclass(frozen=True)
class Result:
    id: str
    verdict: Verdict
    duplicate_of: str | None  # the earlier article this one duplicates, or updates
    story_id: str
    version: int  # 1 for a first version; updates count up
    size_change: int  # characters gained (or lost, negative) since the previous version
    similarity: float | None  # near-duplicates: estimated Jaccard with the original
    containment: float | None  # near-duplicates: estimated share of the smaller text
    match: str  # "none", "url", "hash", "near" (what decided a duplicate or update)
    content_hash: str
    url_key: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _day(at: float) -> int:
    return int(at // SECONDS_PER_DAY)


class Deduper:
    def __init__(self, stores: DedupStores | None = None, config: DedupConfig | None = None):
        self.stores = stores or DedupStores()
        self.config = config or DedupConfig()
        self.index = NearDupIndex(self.stores.bands, self.stores.sketches, self.config)
        self.clusterer = StoryClusterer(
            self.stores.stories, self.stores.story_keys, self.stores.terms, self.config
        )
        # Undated articles without an arrival time are put on the latest day seen, so
        # they neither expire the state nor get expired by it.
        self._clock = 0

    def url_key(self, item: Item) -> str:
        return canonical_article_id(item.url, item.canonical_url) if item.url else item.id

    def _time(self, item: Item, now: datetime | None) -> tuple[float | None, int]:
        when = item.published or now
        if when is None:
            return None, self._clock
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        at = when.timestamp()
        self._clock = max(self._clock, _day(at))
        return at, _day(at)

    def _record(self, url_key: str, day: int) -> dict[str, Any] | None:
        raw = self.stores.articles.get(url_key)
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        if record["day"] < day - self.config.retention_days:
            del self.stores.articles[url_key]
            return None
        return record

    def process(self, item: Item, now: datetime | None = None) -> Result:
        """Decide one article; `now` is its arrival time, used when it has no published date."""
        at, day = self._time(item, now)
        digest = content_hash(item.text)
        url_key = self.url_key(item)
        known = self._record(url_key, day)
        if known is not None:
            return self._known_url(item, url_key, known, digest, day)

        original = self._hash_original(digest, day)
        if original is not None and original["id"] != item.id:
            return self._remember(item, url_key, digest, day, "duplicate", original, "hash")

        found = sketch(item.text, self.config.bands, self.config.shingle_words)
        usable = found is not None and found.shingles >= self.config.min_shingles
        if found is not None and usable:
            match = self.index.find(found, day, exclude=url_key)
            if match is not None:
                near = self._record(match.url_key, day)
                if near is not None:
                    self.index.add(found, url_key, day, stands_for=match.url_key)
                    return self._remember(
                        item,
                        url_key,
                        digest,
                        day,
                        "duplicate",
                        near,
                        "near",
                        similarity=(match.similarity.jaccard, match.similarity.containment),
                    )
        features = story_features(item.text, item.title, item.entities)
        assignment = self.clusterer.assign(
            features, item.id, day, at, background_idf(self._language(item))
        )
        if found is not None and usable:
            self.index.add(found, url_key, day)
        return self._remember(
            item, url_key, digest, day, "new", None, "none", story_id=assignment.story_id
        )

    @staticmethod
    def _language(item: Item) -> str | None:
        if item.language:
            return item.language
        # The opening is enough to tell the language, and costs a fraction of the body.
        return detect(item.text[:LANGUAGE_SAMPLE_CHARS])[0]

    def _hash_original(self, digest: str, day: int) -> dict[str, Any] | None:
        raw = self.stores.hashes.get(digest)
        if raw is None:
            return None
        url_key, seen = raw.split()
        if int(seen) < day - self.config.retention_days:
            del self.stores.hashes[digest]
            return None
        return self._record(url_key, day)

    def _known_url(
        self, item: Item, url_key: str, known: dict[str, Any], digest: str, day: int
    ) -> Result:
        if known["hash"] == digest:
            if known["id"] == item.id:  # a replay: the same decision again
                return Result(**known["result"])
            return self._result(item, url_key, digest, "duplicate", known["id"], known, "url")
        # Same URL, other text: a new version of the article.
        version = int(known["version"]) + 1
        result = Result(
            id=item.id,
            verdict="update",
            duplicate_of=known["id"],  # the previous version (its own id when re-sent)
            story_id=known["story"],
            version=version,
            size_change=len(item.text) - int(known["chars"]),
            similarity=None,
            containment=None,
            match="url",
            content_hash=digest,
            url_key=url_key,
        )
        self._store(url_key, item, digest, day, result)
        found = sketch(item.text, self.config.bands, self.config.shingle_words)
        if found is not None and found.shingles >= self.config.min_shingles:
            self.index.add(found, url_key, day)
        return result

    def _result(
        self,
        item: Item,
        url_key: str,
        digest: str,
        verdict: Verdict,
        duplicate_of: str | None,
        original: dict[str, Any],
        match: str,
        similarity: tuple[float, float] | None = None,
    ) -> Result:
        return Result(
            id=item.id,
            verdict=verdict,
            duplicate_of=duplicate_of,
            story_id=original["story"],
            version=1,
            size_change=0,
            similarity=None if similarity is None else round(similarity[0], 4),
            containment=None if similarity is None else round(similarity[1], 4),
            match=match,
            content_hash=digest,
            url_key=url_key,
        )

    def _remember(
        self,
        item: Item,
        url_key: str,
        digest: str,
        day: int,
        verdict: Verdict,
        original: dict[str, Any] | None,
        match: str,
        *,
        similarity: tuple[float, float] | None = None,
        story_id: str | None = None,
    ) -> Result:
        if original is not None:
            result = self._result(
                item, url_key, digest, verdict, original["id"], original, match, similarity
            )
        else:
            result = Result(
                id=item.id,
                verdict=verdict,
                duplicate_of=None,
                story_id=story_id or item.id,
                version=1,
                size_change=0,
                similarity=None,
                containment=None,
                match=match,
                content_hash=digest,
                url_key=url_key,
            )
        self._store(url_key, item, digest, day, result)
        if digest not in self.stores.hashes:
            self.stores.hashes[digest] = f"{url_key} {day}"
        return result

    def _store(self, url_key: str, item: Item, digest: str, day: int, result: Result) -> None:
        record = {
            "id": item.id,
            "hash": digest,
            "version": result.version,
            "chars": len(item.text),
            "story": result.story_id,
            "day": day,
            "of": result.duplicate_of,
            "result": result.to_json(),
        }
        self.stores.articles[url_key] = json.dumps(record, separators=(",", ":"))

    def sweep(self, now: datetime) -> int:
        """Evict every entry older than the retention window before `now`; how many."""
        day = _day(now.timestamp())
        cutoff = day - self.config.retention_days
        removed = 0
        for key, raw in list(self.stores.articles.items()):
            if json.loads(raw)["day"] < cutoff:
                del self.stores.articles[key]
                removed += 1
        for key, raw in list(self.stores.hashes.items()):
            if int(raw.split()[1]) < cutoff:
                del self.stores.hashes[key]
                removed += 1
        return removed + self.index.sweep(day) + self.clusterer.sweep(day)
