"""Online story clustering: each article joins the most similar recent story or opens one.

In the spirit of Miranda et al. (EMNLP 2018): an article is a TF-IDF vector over its
content terms and its entities (entities weigh more: two rehab stays of two
different celebrities share the vocabulary of rehab, not the names), document
frequencies are updated as articles arrive, and the article is compared with the
centroids of the stories found through its strongest features, within a time window.

State, in two key-value stores (values are text):

* terms:      key = feature ("e:<entity>", or "t:<term>" for languages without a
              background IDF, idf.py), value = "<document count> <day>"; the key
              "#docs" counts all clustered articles
* (story keys: which earlier articles share a strong feature, answered by the keyed
  lookups, lookups.py; `lookup_keys` picks an article's keys.)
* stories:    key = story id, value = JSON {"c": centroid {feature: weight}, "n": size,
              "day": day of the last article, "at": its Unix time or null}
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache

from services.dedup.config import DedupConfig
from services.dedup.features import capitalised_entities, given_entities, terms

DOCS_KEY = "#docs"
# Decoded stories kept in memory (a cache: dropped whole when full, never stale).
PARSED_STORIES = 20_000


def story_features(
    text: str, title: str | None = None, entities: Iterable[str] | None = None
) -> Counter[str]:
    """Term and entity counts of an article; the enricher's entities replace the heuristic."""
    body = f"{title}\n{text}" if title else text
    out: Counter[str] = Counter({f"t:{k}": v for k, v in terms(body).items()})
    found = given_entities(entities) if entities is not None else capitalised_entities(body)
    for name, count in found.items():
        out[f"e:{name}"] += count
    return out


@dataclass(frozen=True)
class Assignment:
    story_id: str
    similarity: float  # cosine with the story joined; 0.0 for a new story
    opened: bool


def _cosine(vector: Mapping[str, float], centroid: Mapping[str, float]) -> float:
    # Over the centroid's features (at most story_centroid_features), not the article's
    # hundreds: the same sum, a fraction of the lookups.
    norm = math.sqrt(sum(w * w for w in centroid.values()))
    if norm == 0:
        return 0.0
    return sum(w * vector.get(k, 0.0) for k, w in centroid.items()) / norm


def _top(weights: Mapping[str, float], n: int) -> list[tuple[str, float]]:
    # Ties broken by feature name, so the outcome never depends on dict order. The same
    # as sorting every (feature, weight) pair, without building a key for each of the
    # hundreds of features an article has: only those at or above the n-th weight.
    if len(weights) > n > 0:
        cutoff = sorted(weights.values(), reverse=True)[n - 1]
        if cutoff == cutoff:  # not NaN, which compares false with everything
            return sorted([kv for kv in weights.items() if kv[1] >= cutoff], key=_rank)[:n]
    return sorted(weights.items(), key=_rank)[:n]


def _rank(kv: tuple[str, float]) -> tuple[float, str]:
    return -kv[1], kv[0]


def lookup_keys(
    features: Mapping[str, int], term_idf: Callable[[str], float] | None, config: DedupConfig
) -> list[str]:
    """The features an article files itself under, and looks earlier stories up by.

    Chosen before the article reaches the decider (the lookups are partitioned by
    these keys), so by what needs no state: term frequency times the language's
    background IDF, for an entity that of its rarest word (a name is at least as rare
    as its rarest word), times `entity_weight`. Without a list, frequency alone.
    """
    scores: dict[str, float] = {}
    weight = config.entity_weight
    for key, count in features.items():
        if term_idf is None:
            idf = 1.0
        elif key.startswith("t:"):  # one word (features.terms): no split, no max
            idf = term_idf(key[2:])
        else:
            idf = max((term_idf(w) for w in key[2:].split()), default=0.0)
        if key.startswith("e:"):
            idf *= weight
        scores[key] = (1.0 + _log(count)) * idf
    return [k for k, _ in _top(scores, config.story_lookup_features)]


@lru_cache(maxsize=4096)
def _log(count: int) -> float:
    return math.log(count)


class StoryClusterer:
    def __init__(
        self,
        stories: MutableMapping[str, str],
        terms_store: MutableMapping[str, str],
        config: DedupConfig,
    ) -> None:
        self.stories = stories
        self.terms = terms_store
        self.config = config
        self._parsed: dict[str, tuple[str, dict[str, object]]] = {}

    def _count(self, key: str, day: int) -> int:
        """Add this article to a feature's document count; the count including it."""
        raw = self.terms.get(key)
        count = 0
        if raw:
            value, seen = raw.split()
            count = int(value) if int(seen) >= day - self.config.retention_days else 0
        self.terms[key] = f"{count + 1} {day}"
        return count + 1

    def vector(
        self,
        features: Mapping[str, int],
        day: int,
        term_idf: Callable[[str], float] | None = None,
    ) -> dict[str, float]:
        """The article's unit TF-IDF vector; counts it into the document frequencies.

        With `term_idf` (the language's background IDF) terms are weighed by it and
        only entities are counted: one table write per entity instead of per term.
        """
        docs = self._count(DOCS_KEY, day)
        weights: dict[str, float] = {}
        for key in sorted(features):
            if term_idf is not None and key.startswith("t:"):
                idf = term_idf(key[2:])
            else:
                idf = math.log((docs + 1) / (self._count(key, day) + 0.5))
            weight = (1.0 + math.log(features[key])) * idf
            if key.startswith("e:"):
                weight *= self.config.entity_weight
            if weight > 0:
                weights[key] = weight
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {k: w / norm for k, w in weights.items()}

    def _parse(self, story_id: str, raw: str) -> dict[str, object]:
        """The decoded story, from a cache of stories whose stored text has not changed.

        Decoding centroids was a third of the clustering's time: a story is a
        candidate for many articles between two changes.
        """
        cached = self._parsed.get(story_id)
        if cached is not None and cached[0] == raw:
            return cached[1]
        story: dict[str, object] = json.loads(raw)
        if len(self._parsed) >= PARSED_STORIES:
            self._parsed.clear()
        self._parsed[story_id] = (raw, story)
        return story

    def _open(self, story_id: str, day: int, at: float | None) -> dict[str, object] | None:
        raw = self.stories.get(story_id)
        if raw is None:
            return None
        story = self._parse(story_id, raw)
        last_day = story["day"]
        if not isinstance(last_day, int) or last_day < day - self.config.retention_days:
            del self.stories[story_id]
            return None
        last_at = story.get("at")
        window = self.config.story_window_hours * 3600
        if at is not None and isinstance(last_at, (int, float)) and abs(at - last_at) > window:
            return None
        return story

    def assign(
        self,
        features: Mapping[str, int],
        article_key: str,
        day: int,
        at: float | None = None,
        term_idf: Callable[[str], float] | None = None,
        candidates: Iterable[str] = (),
    ) -> Assignment:
        """Put an article into a story: the best open one of `candidates` (the stories of
        earlier articles sharing its lookup keys) above the threshold, or its own."""
        vector = self.vector(features, day, term_idf)
        best: tuple[float, str] | None = None
        chosen: dict[str, object] | None = None
        for story_id in dict.fromkeys(candidates):
            story = self._open(story_id, day, at)
            if story is None:
                continue
            centroid = story["c"]
            assert isinstance(centroid, dict)
            score = _cosine(vector, centroid)
            if best is None or score > best[0]:
                best, chosen = (score, story_id), story
        if best is not None and chosen is not None and best[0] >= self.config.story_threshold:
            story_id, similarity, opened = best[1], best[0], False
            centroid = dict(chosen["c"])  # type: ignore[call-overload]
            for k, w in vector.items():
                centroid[k] = centroid.get(k, 0.0) + w
            size = int(chosen["n"]) + 1  # type: ignore[call-overload]
        else:
            story_id, similarity, opened = article_key, 0.0, True
            centroid, size = dict(vector), 1
        kept = _top(centroid, self.config.story_centroid_features)
        record = {"c": {k: round(w, 4) for k, w in kept}, "n": size, "day": day, "at": at}
        self.stories[story_id] = json.dumps(record, separators=(",", ":"), sort_keys=True)
        return Assignment(story_id, similarity, opened)

    def sweep(self, day: int) -> int:
        """Delete stories and term counts older than the retention window."""
        cutoff = day - self.config.retention_days
        removed = 0
        for story_id, raw in list(self.stories.items()):
            if json.loads(raw)["day"] < cutoff:
                del self.stories[story_id]
                removed += 1
        for key, raw in list(self.terms.items()):
            if int(raw.split()[1]) < cutoff:
                del self.terms[key]
                removed += 1
        return removed
