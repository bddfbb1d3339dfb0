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
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import add, ge, itemgetter, mul, truediv

from services.dedup.config import DedupConfig
from services.dedup.features import capitalised_entities, given_entities, term_features

DOCS_KEY = "#docs"
# Decoded stories kept in memory (a cache: dropped whole when full, never stale).
PARSED_STORIES = 20_000


def story_features(
    text: str, title: str | None = None, entities: Iterable[str] | None = None
) -> Counter[str]:
    """Term and entity counts of an article; the enricher's entities replace the heuristic."""
    body = f"{title}\n{text}" if title else text
    out = term_features(body)
    found = given_entities(entities) if entities is not None else capitalised_entities(body)
    get = out.get
    for name, count in found.items():
        key = "e:" + name
        out[key] = get(key, 0) + count
    return out


@dataclass(frozen=True)
class Assignment:
    story_id: str
    similarity: float  # cosine with the story joined; 0.0 for a new story
    opened: bool


def _norm(centroid: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in centroid.values()))


def _cosine(vector: Mapping[str, float], centroid: Mapping[str, float], norm: float) -> float:
    # Over the centroid's features (at most story_centroid_features), not the article's
    # hundreds: the same sum, a fraction of the lookups. `norm` is `_norm(centroid)`,
    # kept with the decoded story: a story is compared with many articles.
    if norm == 0:
        return 0.0
    # sum(w * vector.get(k, 0.0) for k, w in centroid.items()), in C: the same products
    # added in the same order.
    dot: float = sum(map(mul, centroid.values(), map(vector.get, centroid, repeat(0.0))))
    return dot / norm


def _top(weights: Mapping[str, float], n: int) -> list[tuple[str, float]]:
    # Ties broken by feature name, so the outcome never depends on dict order. The same
    # as sorting every (feature, weight) pair, without building a key for each of the
    # hundreds of features an article has: only those at or above the n-th weight.
    if len(weights) > n > 0:
        cutoff = sorted(weights.values(), reverse=True)[n - 1]
        if cutoff == cutoff:  # not NaN, which compares false with everything
            at_least = map(ge, weights.values(), repeat(cutoff))  # weight >= cutoff
            kept = sorted(compress(weights.items(), at_least))  # by name
            # Then by weight, highest first: a stable sort keeps the names' order among
            # equal weights (as `_rank` orders them, with no key function to call).
            return sorted(kept, key=itemgetter(1), reverse=True)[:n]
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
    weight = config.entity_weight
    memo = _key_idfs(term_idf, weight)
    keys = list(features)
    # (1 + log(count)) * idf per feature, as a loop would compute it, in C: `map` over
    # the memo and the log table, and a Python step only for what they miss.
    idfs = list(map(memo.get, keys))
    if None in idfs:
        idfs = [
            _remember(memo, key, _key_idf(key, term_idf, weight)) if idf is None else idf
            for key, idf in zip(keys, idfs, strict=True)
        ]
    weighed = map(mul, map(_ONE_PLUS, _logs(features.values())), idfs)
    scores = dict(zip(keys, weighed, strict=True))
    return [k for k, _ in _top(scores, config.story_lookup_features)]


def _remember(memo: dict[str, float], key: str, value: float) -> float:
    memo[key] = value
    return value


def _logs(counts: Collection[int]) -> list[float]:
    """math.log of each count."""
    logs = list(map(_LOGS.get, counts))
    if None in logs:
        logs = [
            math.log(count) if log is None else log for count, log in zip(counts, logs, strict=True)
        ]
    return logs  # type: ignore[return-value]


def _key_idf(key: str, term_idf: Callable[[str], float] | None, weight: float) -> float:
    """What `lookup_keys` weighs a feature by, its frequency aside."""
    if term_idf is None:
        idf = 1.0
    elif key.startswith("t:"):  # one word (features.terms): no split, no max
        idf = term_idf(key[2:])
    else:
        idf = max((term_idf(w) for w in key[2:].split()), default=0.0)
    if key.startswith("e:"):
        idf *= weight
    return idf


# Feature key -> `_key_idf`, per IDF function and entity weight: an article has a couple
# of hundred features, nearly all of them met before in its language, and looking one
# up costs less than slicing its key and calling the IDF. A term's ("t:") entry is its
# IDF itself, which `StoryClusterer.vector` reads too (and no other entry). The IDF
# functions are pure, so the entries never go stale; each memo and the set of them are
# dropped when full.
_KEY_IDFS: dict[tuple[Callable[[str], float] | None, float], dict[str, float]] = {}
MEMO_KEYS = 1 << 18
MEMO_FUNCTIONS = 256


def _key_idfs(term_idf: Callable[[str], float] | None, weight: float) -> dict[str, float]:
    memo = _KEY_IDFS.get((term_idf, weight))
    if memo is None:
        if len(_KEY_IDFS) >= MEMO_FUNCTIONS:
            _KEY_IDFS.clear()
        memo = _KEY_IDFS[(term_idf, weight)] = {}
    elif len(memo) >= MEMO_KEYS:
        memo.clear()
    return memo


# math.log of small counts, which are nearly all a feature has (a table: the same values).
_LOGS = {n: math.log(n) for n in range(1, 4096)}
_ONE_PLUS = (1.0).__add__  # 1.0 + x


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
        # Story id -> (stored text, decoded story, its centroid's norm).
        self._parsed: dict[str, tuple[str, dict[str, object], float]] = {}

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
        entity_weight = self.config.entity_weight
        keys = sorted(features)
        n = len(keys)
        idfs: list[float | None] = [None] * n
        lo = hi = 0
        if term_idf is not None:
            # Terms by the background IDF, from the memo `lookup_keys` filled for the same
            # article; the keys are sorted, so the terms ("t:...") are one slice of them.
            memo = _key_idfs(term_idf, entity_weight)
            lo = bisect_left(keys, "t:")
            hi = bisect_left(keys, "t;", lo)  # ";" follows ":"
            idfs[lo:hi] = map(memo.get, keys[lo:hi])
            if None in idfs[lo:hi]:
                for i in range(lo, hi):
                    if idfs[i] is None:
                        idfs[i] = memo[keys[i]] = term_idf(keys[i][2:])
        # Every other feature by its document count, each counted in key order.
        for i in chain(range(lo), range(hi, n)):
            idfs[i] = math.log((docs + 1) / (self._count(keys[i], day) + 0.5))
        logs = _logs([features[k] for k in keys])
        raw: list[float] = list(map(mul, map(_ONE_PLUS, logs), idfs))
        for i in range(bisect_left(keys, "e:"), bisect_left(keys, "e;")):
            raw[i] *= entity_weight
        weights = {k: w for k, w in zip(keys, raw, strict=True) if w > 0}
        norm = math.sqrt(sum(map(mul, weights.values(), weights.values()))) or 1.0
        return dict(zip(weights, map(truediv, weights.values(), repeat(norm)), strict=False))

    def _parse(self, story_id: str, raw: str) -> tuple[dict[str, object], float]:
        """The decoded story and its centroid's norm, from a cache of stories whose
        stored text has not changed.

        Decoding centroids was a third of the clustering's time: a story is a
        candidate for many articles between two changes.
        """
        cached = self._parsed.get(story_id)
        if cached is not None and cached[0] == raw:
            return cached[1], cached[2]
        story: dict[str, object] = json.loads(raw)
        centroid = story.get("c")
        norm = _norm(centroid) if isinstance(centroid, dict) else 0.0
        if len(self._parsed) >= PARSED_STORIES:
            self._parsed.clear()
        self._parsed[story_id] = (raw, story, norm)
        return story, norm

    def _open(
        self, story_id: str, day: int, at: float | None
    ) -> tuple[dict[str, object], float] | None:
        """The story and its centroid's norm, when it is open to an article at `day`
        and `at`."""
        raw = self.stories.get(story_id)
        if raw is None:
            return None
        parsed = self._parse(story_id, raw)
        story = parsed[0]
        last_day = story["day"]
        if not isinstance(last_day, int) or last_day < day - self.config.retention_days:
            del self.stories[story_id]
            return None
        last_at = story.get("at")
        window = self.config.story_window_hours * 3600
        if at is not None and isinstance(last_at, (int, float)) and abs(at - last_at) > window:
            return None
        return parsed

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
            found = self._open(story_id, day, at)
            if found is None:
                continue
            story, norm = found
            centroid = story["c"]
            assert isinstance(centroid, dict)
            score = _cosine(vector, centroid, norm)
            if best is None or score > best[0]:
                best, chosen = (score, story_id), story
        if best is not None and chosen is not None and best[0] >= self.config.story_threshold:
            story_id, similarity, opened = best[1], best[0], False
            centroid = dict(chosen["c"])  # type: ignore[call-overload]
            # centroid[k] = centroid.get(k, 0.0) + w for each (k, w) of the vector, in C.
            sums = list(map(add, map(centroid.get, vector, repeat(0.0)), vector.values()))
            centroid.update(zip(vector, sums, strict=True))
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
