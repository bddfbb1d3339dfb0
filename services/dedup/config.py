"""Dedup's tunables in one place, with the defaults the evaluation was run with.

The ones an operator tunes are settings (NEWSWIRE_DEDUP_*, `config_from`); the agent
and `newswire cluster` build this from them, and every pure function takes what it
needs from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import ConfigError
from services.common.settings import Settings
from services.dedup.scope import sequence_of


@dataclass(frozen=True)
class DedupConfig:
    # Entries are evicted this many days of stream time (arrival days, clock.py) after
    # they were filed.
    retention_days: int = 30
    # Near-duplicates: 5-word shingles, 7 single-row LSH bands over 64 one-permutation
    # MinHash bins; a candidate is a near-duplicate when the estimated share of the
    # smaller text found in the larger one reaches `containment_threshold` and at
    # least `min_matching_bins` bins agree (so two unrelated texts of very different
    # length never pass on one chance agreement).
    shingle_words: int = 5
    bands: int = 7
    containment_threshold: float = 0.7
    min_matching_bins: int = 4
    # Below this many distinct shingles only the exact hash decides: too little text.
    min_shingles: int = 3
    # At most this many articles per band key: a key shared by more is a stock phrase.
    band_postings: int = 16
    # Candidates verified per article, at most (the first found: lookups stay bounded).
    max_candidates: int = 64
    # Stories: an article joins the most similar open story when the cosine of its
    # TF-IDF vector (entities weighted `entity_weight` times) with the story's centroid
    # reaches `story_threshold`; otherwise it opens a story of its own.
    story_threshold: float = 0.2
    entity_weight: float = 2.0
    # A story takes no article more than this many hours after its last one.
    story_window_hours: float = 72.0
    # Features kept in a story's centroid, features of an article used to look up
    # candidate stories, and stories remembered per feature key.
    story_centroid_features: int = 60
    story_lookup_features: int = 20
    story_postings: int = 24
    # Story scopes (scope.py): what names an article's scope, how many decision
    # sequences there are, and the scopes put in a chosen sequence.
    scope: str = "none"
    sequences: int = 1
    scope_map: tuple[tuple[str, int], ...] = ()

    def sequence_of(self, name: str) -> int:
        return sequence_of(name, self.sequences, dict(self.scope_map))


def config_from(settings: Settings) -> DedupConfig:
    wrong = {
        k: v for k, v in settings.dedup.scope_map.items() if not 0 <= v < settings.dedup.sequences
    }
    if wrong:
        raise ConfigError(
            f"NEWSWIRE_DEDUP_SCOPE_MAP puts {wrong} outside the "
            f"{settings.dedup.sequences} sequences of NEWSWIRE_DEDUP_SEQUENCES (0 to "
            f"{settings.dedup.sequences - 1})"
        )
    return DedupConfig(
        scope=settings.dedup.scope,
        sequences=settings.dedup.sequences,
        scope_map=tuple(sorted(settings.dedup.scope_map.items())),
        retention_days=settings.dedup.retention_days,
        containment_threshold=settings.dedup.containment_threshold,
        story_threshold=settings.dedup.story_threshold,
        story_window_hours=settings.dedup.story_window_hours,
    )
