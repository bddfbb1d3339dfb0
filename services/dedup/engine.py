"""The dedup engine: one verdict, story id and version per article, in sequence order.

Three steps, so that the agent can run each where its state lives:

1. `prepare` (pure, any worker): URL key, content hash, MinHash sketch and band keys,
   story features and language of one article.
2. Keyed lookups (`lookups.Lookups`, partitioned by key): for the article at sequence
   number `seq`, the earlier article with its URL key, the first earlier article with
   its text, the earlier articles sharing a band key, and those sharing a story key.
3. `Decider.decide` (in sequence order): from those answers and its own state (each
   decided article's outcome and sketch by sequence number, the story clusters), the
   verdict. Checks, cheapest and most certain first:

   * URL key: the same URL with the same text is a replay (same id: the same decision
     again) or a duplicate; with other text an `update` (version + 1, size change).
   * Exact content hash (normalised words): `duplicate` of the first article with it.
   * Near-duplicate (MinHash/LSH, containment-verified): `duplicate` of the original.
   * Otherwise `new`, and story clustering picks (or opens) its story.

   Duplicates take their original's story; updates keep their story.

`Deduper` runs the three in one process over plain mappings (`newswire cluster`, the
evaluation, the tests): the same code as the agent, in the same order. The same input
in the same order gives the same output wherever the steps run.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.common.errors import NewswireError, SchemaError
from services.common.language import detect
from services.common.models import MAX_DAY, Verdict
from services.common.urls import article_id as canonical_article_id
from services.dedup.batch import Overlay, decode_writes, encode_writes, logged_seq
from services.dedup.cluster import StoryClusterer, lookup_keys, story_features
from services.dedup.config import DedupConfig
from services.dedup.fingerprint import content_hash
from services.dedup.idf import background_idf
from services.dedup.lookups import Answer, Lookups, Question
from services.dedup.lsh import SketchIndex, band_names, url_ref
from services.dedup.neardup import Sketch, sketch
from services.dedup.scope import scope_name
from services.dedup.versions import Versions

SECONDS_PER_DAY = 86400
LANGUAGE_SAMPLE_CHARS = 1000
PROGRESS_KEY = "last"
WAL_KEY = "log"  # the last decision's writes, logged before they are applied (batch.py)


@dataclass
class DedupStores:
    """Dedup's state, one mapping per lookup key kind (see each module for value formats).

    Looked up by key (lookups.py), partitioned by it in the agent:
    urls       key = URL key (common.urls.article_id, or the article id)
    hashes     key = content hash (64 hex)
    bands      key = LSH band key (11 chars)                 packed postings (lsh.py)
    story_keys key = story feature ("e:entity", "t:term")    packed postings (lsh.py)
    Held by the decider, in sequence order:
    outcomes   key = sequence number                         "<day>\t<story>\t<JSON>"
    sketches   key = sequence number                         packed sketch (lsh.py)
    stories    key = story id                                JSON centroid (cluster.py)
    terms      key = story feature, or "#docs"               document counts (cluster.py)
    progress   key = "last"                                  "<last decided seq> <day>"
               key = "log"                                   the last decision's writes
    Held where the sequence is numbered (the agent's ask hop, in its clock table):
    versions   key = URL key                                 its latest versions (versions.py)
    """

    urls: MutableMapping[str, str] = field(default_factory=dict)
    hashes: MutableMapping[str, str] = field(default_factory=dict)
    bands: MutableMapping[str, bytes] = field(default_factory=dict)
    story_keys: MutableMapping[str, bytes] = field(default_factory=dict)
    outcomes: MutableMapping[str, str] = field(default_factory=dict)
    sketches: MutableMapping[str, bytes] = field(default_factory=dict)
    stories: MutableMapping[str, str] = field(default_factory=dict)
    terms: MutableMapping[str, str] = field(default_factory=dict)
    progress: MutableMapping[str, str] = field(default_factory=dict)
    versions: MutableMapping[str, str] = field(default_factory=dict)


LOOKUP_STORES = ("urls", "hashes", "bands", "story_keys")
DECIDER_STORES = ("outcomes", "sketches", "stories", "terms", "progress")


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
    # What a story scope other than the language can be named by (scope.py).
    site: str | None = None
    feed_url: str | None = None


@dataclass(frozen=True)
class Prepared:
    """An article's keys and features, computed before it enters the sequence."""

    id: str
    url_key: str
    digest: str
    chars: int
    # The day the article reached the pipeline (its capture day; offline without one, its
    # published day): what moves the stream's clock. None: neither (the decider's clock).
    day: int | None
    at: float | None  # Unix time of the event (published, else arrival): the story window
    sketch: Sketch | None  # None: too little text for near-duplicates
    features: Mapping[str, int] = field(default_factory=dict)  # story features
    story_keys: tuple[str, ...] = ()  # the strongest features, looked up (cluster.py)
    language: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url_key": self.url_key,
            "digest": self.digest,
            "chars": self.chars,
            "day": self.day,
            "at": self.at,
            "shingles": self.sketch.shingles if self.sketch else 0,
            "signature": base64.b64encode(self.sketch.signature).decode() if self.sketch else "",
            "bands": list(band_names(self.sketch)) if self.sketch else [],
            "story_keys": list(self.story_keys),
            "features": dict(self.features),
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prepared:
        found = None
        if data["bands"]:
            try:
                signature = base64.b64decode(data["signature"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise SchemaError(f"prep of {data.get('id')}: signature is no base64") from exc
            found = Sketch(
                signature=signature,
                shingles=int(data["shingles"]),
                band_keys=(0,) * len(data["bands"]),  # only the names travel
                band_names=tuple(data["bands"]),
            )
        return cls(
            id=data["id"],
            url_key=data["url_key"],
            digest=data["digest"],
            chars=int(data["chars"]),
            day=data["day"],
            at=data["at"],
            sketch=found,
            features=Counter(data.get("features") or {}),
            story_keys=tuple(data.get("story_keys") or ()),
            language=data.get("language"),
        )


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
    # The same article with the same text again (a feed re-listing it, a page fetched
    # again after a restart upstream): its first decision, already on the stories topic.
    replay: bool = False

    def to_json(self) -> dict[str, Any]:
        # What `dataclasses.asdict` gives (every field is a str, number, bool or None),
        # without its recursive copy: this runs for every decision.
        return {name: getattr(self, name) for name in _RESULT_FIELDS}


_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(Result))


@dataclass(frozen=True)
class Answers:
    """The keyed lookups' answers for one article, gathered."""

    url: int | None = None  # the latest earlier article with the URL key
    hash: int | None = None  # the first earlier article with the same text
    candidates: tuple[int, ...] = ()  # earlier articles sharing band keys, in band order
    stories: tuple[int, ...] = ()  # earlier articles sharing story keys, in key order

    @classmethod
    def gather(cls, prep: Prepared, answers: Sequence[Answer]) -> Answers:
        """Combine answers that arrived in any order; band candidates in band order."""
        by_key = {(a.kind, a.key): a.found for a in answers}
        url = by_key.get(("url", prep.url_key), ())
        same = by_key.get(("hash", prep.digest), ())
        names = band_names(prep.sketch) if prep.sketch else ()
        return cls(
            url=url[0] if url else None,
            hash=same[0] if same else None,
            candidates=tuple(s for name in names for s in by_key.get(("band", name), ())),
            stories=tuple(s for k in prep.story_keys for s in by_key.get(("story", k), ())),
        )


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _day(at: float) -> int:
    """Days since the Unix epoch, within what the stores' two bytes hold (a date before
    1970 or after 2149 is a publisher's mistake, not a reason to fail)."""
    return min(max(int(at // SECONDS_PER_DAY), 0), MAX_DAY)


def url_key_of(item: Item) -> str:
    if not item.url:
        return item.id
    try:
        return canonical_article_id(item.url, item.canonical_url)
    except ValueError as exc:  # "http://[broken/": found by make fuzz
        raise SchemaError(f"article {item.id}: url {item.url[:200]!r} is no URL: {exc}") from exc


def language_of(item: Item) -> str | None:
    if item.language:
        return item.language
    # The opening is enough to tell the language, and costs a fraction of the body.
    return detect(item.text[:LANGUAGE_SAMPLE_CHARS])[0]


def sequence_of_item(item: Item, config: DedupConfig, language: str | None = None) -> int:
    """The decision sequence of `item`'s story scope (scope.py); `language`: its
    language when known already (`Prepared.language`)."""
    if config.sequences <= 1:
        return 0
    if config.scope == "language":
        language = language or language_of(item)
    name = scope_name(
        config.scope, language=language, site=item.site, feed_url=item.feed_url, url=item.url
    )
    return config.sequence_of(name)


def prepare(
    item: Item,
    config: DedupConfig,
    now: datetime | None = None,
    *,
    default_day: int | None = None,
) -> Prepared:
    """Everything about one article that needs no state. `now` is its arrival (capture)
    time; without it the published date stands in, and without either `default_day`.

    Two times, kept apart on purpose: `at` (when the event was published) decides which
    story an article may join; `day` (when the pipeline got it) moves the stream's clock
    that retention counts in. An article published 40 days ago and fetched today is
    remembered for the whole retention window from today, so its copies still find it.
    """
    published = _aware(item.published) if item.published is not None else None
    arrived = _aware(now) if now is not None else None
    when = published or arrived
    if when is not None and arrived is not None and when > arrived:
        # A publication date in the future (a publisher's mistake) counts from arrival.
        when = arrived
    at = when.timestamp() if when is not None else None
    clock_time = arrived or when
    day = _day(clock_time.timestamp()) if clock_time is not None else default_day
    found = sketch(item.text, config.bands, config.shingle_words)
    if found is not None and found.shingles < config.min_shingles:
        found = None
    features = story_features(item.text, item.title, item.entities)
    language = language_of(item)
    return Prepared(
        id=item.id,
        url_key=url_key_of(item),
        digest=content_hash(item.text),
        chars=len(item.text),
        day=day,
        at=at,
        sketch=found,
        features=features,
        story_keys=tuple(lookup_keys(features, background_idf(language), config)),
        language=language,
    )


def stream_day(clock: int, prep: Prepared) -> int:
    """The stream's day once this article is in: the latest arrival day so far.

    Retention counts in this clock, which only moves forward and is a function of the
    sequence alone: a restart, a redelivery or an old-dated article cannot make it
    forget what an undisturbed run remembers."""
    return clock if prep.day is None else max(clock, prep.day)


def questions(
    prep: Prepared, seq: int, day: int, floor: int | None = None, replay: bool = False
) -> list[Question]:
    """The keyed lookups an article asks, one per distinct key; `day` is the stream's day
    at the article (`stream_day`), against which the lookups count retention; `floor`
    the decider's (`Decider.floor`), above which the lookups keep every entry. A replay
    (versions.py) asks only for its URL's latest version, the one it repeats."""
    url = Question(seq, "url", prep.url_key, day, floor)
    if replay:
        return [url]
    asked = [url, Question(seq, "hash", prep.digest, day, floor)]
    if prep.sketch is not None:
        names = dict.fromkeys(band_names(prep.sketch))
        asked.extend(Question(seq, "band", name, day, floor) for name in names)
    asked.extend(Question(seq, "story", k, day, floor) for k in dict.fromkeys(prep.story_keys))
    return asked


class Decider:
    """Decides articles in sequence order from the lookups' answers and its own state."""

    def __init__(self, stores: DedupStores, config: DedupConfig) -> None:
        self.base = stores
        self.config = config
        self.clusterer = StoryClusterer(stores.stories, stores.terms, config)
        self._bind(stores)

    def _bind(self, stores: DedupStores) -> None:
        """Read and write through `stores` (the real ones, or a decision's overlay)."""
        self.stores = stores
        self.sketches = SketchIndex(stores.sketches, self.config)
        self.clusterer.stories, self.clusterer.terms = stores.stories, stores.terms

    def progress(self) -> tuple[int, int]:
        """(last decided sequence number or -1, latest day seen or 0)."""
        raw = self.stores.progress.get(PROGRESS_KEY)
        if not raw:
            return -1, 0
        seq, day = raw.split()
        return int(seq), int(day)

    def floor(self) -> int:
        """The lowest sequence number not decided yet. Below it the lookups may forget
        (`lsh.kept_from`): every answer of a decided article reached the decider from the
        broker, which reads them again from there, first, if it decides it again.

        From the stores themselves, not a decision's overlay: the ask hop reads this
        while the decider runs."""
        raw = self.base.progress.get(PROGRESS_KEY)
        return int(raw.split()[0]) + 1 if raw else 0

    def outcome(self, seq: int) -> dict[str, Any] | None:
        """The stored decision of article `seq` (None: never decided, or swept)."""
        raw = self.stores.outcomes.get(str(seq))
        return json.loads(raw.split("\t", 2)[2]) if raw else None

    def _stories_of(self, seqs: Sequence[int], day: int) -> list[str]:
        """The stories of earlier articles, in order, without repeats; reads only the
        outcomes' "<day>\t<story>" prefix (there can be hundreds per article)."""
        cutoff = day - self.config.retention_days
        found: dict[str, None] = {}
        get = self.stores.outcomes.get
        for seq in dict.fromkeys(seqs):
            raw = get(str(seq))
            if raw:
                filed, story, _ = raw.split("\t", 2)
                if int(filed) >= cutoff:
                    found[story] = None
        return list(found)

    def decided(self, seq: int) -> Result | None:
        """The decision already made for article `seq` (a redelivery), if any."""
        record = self.outcome(seq)
        if record is None:
            return None
        return Result(**record.get("own", record["result"]))

    def _earlier(self, seq: int | None, day: int) -> dict[str, Any] | None:
        if seq is None:
            return None
        record = self.outcome(seq)
        if record is None:
            return None
        if record["day"] < day - self.config.retention_days:
            del self.stores.outcomes[str(seq)]
            return None
        return record

    def decide(self, seq: int, prep: Prepared, answers: Answers, day: int | None = None) -> Result:
        """The decision for article `seq`, from its own keys and the lookups' answers;
        `day` is the stream's day its lookups were asked at (`stream_day`, computed by
        whoever numbered the sequence), by default from the decider's own clock.

        Its writes are collected, logged under one key, applied, and the progress record
        written last (batch.py): a decision interrupted by a crash is either made again
        from scratch or completed from its log, never applied twice."""
        last, clock = self.progress()
        # Never behind the clock: a retention window is only ever counted forward.
        now = max(clock, day if day is not None else stream_day(clock, prep))
        if seq <= last or self._logged(seq):
            again = self._complete(seq)
            if again is None:
                raise NewswireError(f"article {seq} was decided, but its outcome expired")
            return again
        base = self.base
        overlays = {name: Overlay(getattr(base, name)) for name in DECIDER_STORES}
        self._bind(dataclasses.replace(base, **overlays))
        try:
            result = self._decide(seq, prep, answers, now)
        finally:
            self._bind(base)
        writes = [
            (name, key, value)
            for name in DECIDER_STORES
            if name != "progress"
            for key, value in overlays[name].writes.items()
        ]
        writes.append(("progress", PROGRESS_KEY, f"{seq} {now}"))
        base.progress[WAL_KEY] = encode_writes(seq, writes)
        self._apply(writes)
        return result

    def _logged(self, seq: int) -> bool:
        raw = self.base.progress.get(WAL_KEY)
        return raw is not None and logged_seq(raw) == seq

    def _complete(self, seq: int) -> Result | None:
        """A decision made before: finish applying it if its log says so; its result."""
        raw = self.base.progress.get(WAL_KEY)
        if raw:
            logged, writes = decode_writes(raw)
            if logged == seq and self.progress()[0] < seq:
                self._apply(writes)
        return self.decided(seq)

    def _apply(self, writes: list[tuple[str, str, str | bytes | None]]) -> None:
        for name, key, value in writes:  # progress comes last in the list
            store: MutableMapping[str, Any] = getattr(self.base, name)
            if value is None:
                store.pop(key, None)
            else:
                store[key] = value

    def _decide(self, seq: int, prep: Prepared, answers: Answers, day: int) -> Result:
        # `day` is the stream's: every entry is filed under it and read against it.
        known = self._earlier(answers.url, day)
        if known is not None:
            return self._known_url(seq, prep, known, day)
        original = self._earlier(answers.hash, day)
        if original is not None and original["id"] != prep.id:
            return self._remember(seq, prep, day, "duplicate", original, "hash")
        if prep.sketch is not None:
            match = self.sketches.find(
                prep.sketch, answers.candidates, day, exclude=url_ref(prep.url_key)
            )
            near = self._earlier(match.seq, day) if match is not None else None
            if match is not None and near is not None:
                sim = (match.similarity.jaccard, match.similarity.containment)
                return self._remember(seq, prep, day, "duplicate", near, "near", similarity=sim)
        assignment = self.clusterer.assign(
            prep.features,
            prep.id,
            day,
            prep.at,
            background_idf(prep.language),
            self._stories_of(answers.stories, day),
        )
        return self._remember(seq, prep, day, "new", None, "none", story=assignment.story_id)

    def _known_url(self, seq: int, prep: Prepared, known: dict[str, Any], day: int) -> Result:
        if known["hash"] == prep.digest:
            if known["id"] == prep.id:  # a replay: the same decision again
                result = dataclasses.replace(Result(**known["result"]), replay=True)
            else:
                result = self._result(prep, "duplicate", known, "url")
            # This article stands for the one it repeats, for later lookups of either;
            # "own" is its own decision, for a redelivery of its sequence number.
            record = dict(known, day=day, own=result.to_json())
            self._store(seq, prep, day, record, known["orig"])
            return result
        # Same URL, other text: a new version of the article.
        version = int(known["version"]) + 1
        result = Result(
            id=prep.id,
            verdict="update",
            duplicate_of=known["id"],  # the previous version (its own id when re-sent)
            story_id=known["story"],
            version=version,
            size_change=prep.chars - int(known["chars"]),
            similarity=None,
            containment=None,
            match="url",
            content_hash=prep.digest,
            url_key=prep.url_key,
        )
        self._store(seq, prep, day, self._record(prep, result, day, seq), seq)
        return result

    def _result(
        self,
        prep: Prepared,
        verdict: Verdict,
        original: dict[str, Any],
        match: str,
        similarity: tuple[float, float] | None = None,
    ) -> Result:
        return Result(
            id=prep.id,
            verdict=verdict,
            duplicate_of=original["id"],
            story_id=original["story"],
            version=1,
            size_change=0,
            similarity=None if similarity is None else round(similarity[0], 4),
            containment=None if similarity is None else round(similarity[1], 4),
            match=match,
            content_hash=prep.digest,
            url_key=prep.url_key,
        )

    def _remember(
        self,
        seq: int,
        prep: Prepared,
        day: int,
        verdict: Verdict,
        original: dict[str, Any] | None,
        match: str,
        *,
        similarity: tuple[float, float] | None = None,
        story: str | None = None,
    ) -> Result:
        if original is not None:
            result = self._result(prep, verdict, original, match, similarity)
            stands_for = int(original["orig"])
        else:
            result = Result(
                id=prep.id,
                verdict=verdict,
                duplicate_of=None,
                story_id=story or prep.id,
                version=1,
                size_change=0,
                similarity=None,
                containment=None,
                match=match,
                content_hash=prep.digest,
                url_key=prep.url_key,
            )
            stands_for = seq
        self._store(seq, prep, day, self._record(prep, result, day, stands_for), stands_for)
        return result

    @staticmethod
    def _record(prep: Prepared, result: Result, day: int, orig: int) -> dict[str, Any]:
        return {
            "id": prep.id,
            "hash": prep.digest,
            "version": result.version,
            "chars": prep.chars,
            "story": result.story_id,
            "day": day,
            "orig": orig,  # the article this one stands for: itself, or its original
            "result": result.to_json(),
        }

    def _store(
        self, seq: int, prep: Prepared, day: int, record: dict[str, Any], stands_for: int
    ) -> None:
        text = json.dumps(record, separators=(",", ":"))
        self.stores.outcomes[str(seq)] = f"{day}\t{record['story']}\t{text}"
        if prep.sketch is not None:
            self.sketches.add(prep.sketch, seq, day, url_ref(prep.url_key), stands_for)

    def sweep(self, day: int) -> int:
        """Evict the decider's entries older than the retention window before `day`."""
        cutoff = day - self.config.retention_days
        outcomes = self.stores.outcomes
        expired = [k for k, raw in outcomes.items() if int(raw.split("\t", 1)[0]) < cutoff]
        for key in expired:
            del self.stores.outcomes[key]
        return len(expired) + self.sketches.sweep(day) + self.clusterer.sweep(day)


def lookups_of(stores: DedupStores, config: DedupConfig) -> Lookups:
    """The keyed lookups over the lookup side of `stores`."""
    return Lookups(stores.urls, stores.hashes, stores.bands, stores.story_keys, config)


class Deduper:
    """Prepare, look up and decide in one process, over plain mappings."""

    def __init__(self, stores: DedupStores | None = None, config: DedupConfig | None = None):
        self.stores = stores or DedupStores()
        self.config = config or DedupConfig()
        self.lookups = lookups_of(self.stores, self.config)
        self.decider = Decider(self.stores, self.config)
        self.versions = Versions(self.stores.versions, self.config.retention_days)

    def process(self, item: Item, now: datetime | None = None) -> Result:
        """Decide one article; `now` is its arrival time, used when it has no published date."""
        last, clock = self.decider.progress()
        prep = prepare(item, self.config, now, default_day=clock)
        seq, day = last + 1, stream_day(clock, prep)
        # Every earlier article is decided: the floor is this one, as in the agent when
        # its decider keeps up.
        replay = self.versions.replay(prep.url_key, prep.digest, prep.id, seq, day, floor=seq)
        asked = questions(prep, seq, day, floor=seq, replay=replay)
        answers = [self.lookups.answer(q) for q in asked]
        return self.decider.decide(seq, prep, Answers.gather(prep, answers), day)

    def sweep(self, now: datetime) -> int:
        """Evict every entry older than the retention window before `now`; how many."""
        day = _day(now.timestamp())
        return self.lookups.sweep(day) + self.decider.sweep(day) + self.versions.sweep(day)
