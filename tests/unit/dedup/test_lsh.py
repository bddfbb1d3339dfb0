"""The near-duplicate index: band lookups, candidates found and verified, expiry, records."""

from __future__ import annotations

import random

from services.dedup.config import DedupConfig
from services.dedup.lsh import BandIndex, Match, NearDupIndex, SketchRecord, index_bytes, url_ref
from services.dedup.neardup import BINS, Similarity, Sketch, compare, sketch

VOCAB = [f"word{i}" for i in range(3000)]


def _text(words: int, seed: int) -> str:
    r = random.Random(seed)
    return " ".join(r.choice(VOCAB) for _ in range(words))


def _index(config: DedupConfig) -> NearDupIndex:
    return NearDupIndex({}, {}, config)


def _file(index: NearDupIndex, text: str, seq: int, day: int, key: str) -> int | None:
    """Look a text up as article `seq` and keep its sketch; the sequence number matched."""
    found = sketch(text, index.sketches.config.bands)
    assert found is not None
    match = index.find(found, seq, day, exclude=url_ref(key))
    index.add(found, seq, day, url_ref(key), match.seq if match else seq)
    return match.seq if match else None


def compare_self(found: Sketch) -> Similarity:
    return compare(found.signature, found.shingles, found.signature, found.shingles)


def test_index_finds_partial_and_padded_copies_not_unrelated_texts() -> None:
    config = DedupConfig()
    bands: dict[str, bytes] = {}
    sketches: dict[str, bytes] = {}
    index = NearDupIndex(bands, sketches, config)
    originals = [_text(600, 100 + i) for i in range(40)]
    for seq, text in enumerate(originals):
        assert _file(index, text, seq, 100, f"doc{seq}") is None
    found_right = 0
    for i, text in enumerate(originals):
        words = text.split()
        variant = " ".join(words[: len(words) // 2]) if i % 2 else text + " " + _text(600, 999 + i)
        found = sketch(variant, config.bands)
        assert found is not None
        match = index.find(found, 1000 + i, 101)
        assert match is None or match.seq == i  # never a wrong original
        found_right += match is not None
    # Single-row bands miss a pair of Jaccard J with probability (1 - J) ** 7: about 1%.
    assert found_right >= 38
    assert index.find(sketch(_text(600, 5000), config.bands), 2000, 101) is None  # type: ignore[arg-type]
    # 7 band postings and one sketch per article, well under 256 bytes each.
    assert index_bytes(bands, sketches) / (len(originals) + 41) < 256


def test_band_lookups_answer_by_sequence_and_are_idempotent() -> None:
    config = DedupConfig(band_postings=3, retention_days=30)
    bands = BandIndex({}, config)
    assert bands.lookup("k", 5, 100) == []
    assert bands.lookup("k", 9, 100) == [5]
    assert bands.lookup("k", 9, 100) == [5]  # asked again: the same answer, filed once
    assert bands.lookup("k", 5, 100) == []  # a late redelivery does not see later articles
    assert bands.lookup("k", 12, 131) == []  # 5 and 9 are past the window by day 131
    bands.lookup("k", 13, 131)
    # At most `band_postings` per key: the oldest go.
    assert bands.lookup("k", 20, 131) == [12, 13]
    assert bands.sweep(200) == 3 and not bands.bands


def test_expired_sketches_are_ignored_and_swept() -> None:
    config = DedupConfig(retention_days=30)
    index = _index(config)
    text = _text(300, 7)
    assert _file(index, text, 0, 10, "old") is None
    found = sketch(text, config.bands)
    assert found is not None
    assert index.find(found, 1, 40) is not None
    assert index.find(found, 2, 41) is None  # older than the window: treated as absent
    assert index.sweep(100) >= config.bands
    assert not index.bands.bands and not index.sketches.sketches


def test_find_skips_the_article_itself_and_prefers_the_closest_then_earliest() -> None:
    config = DedupConfig()
    index = _index(config)
    text = _text(400, 11)
    found = sketch(text, config.bands)
    half = sketch(" ".join(text.split()[:200]), config.bands)
    assert found is not None and half is not None
    # Filed in order, each its own original.
    for seq, (s, key) in enumerate([(half, "half"), (found, "first"), (found, "second")]):
        index.find(s, seq, 10)
        index.add(s, seq, 10, url_ref(key), seq)
    match = index.find(found, 10, 10)
    assert match is not None and match.seq == 1  # closest, then the earliest
    assert match.similarity.jaccard == 1.0
    other = index.find(found, 11, 10, exclude=url_ref("first"))
    assert other is not None and other.seq == 2
    # A sketch without band names (built by hand) is looked up by its band keys.
    bare = type(found)(found.signature, found.shingles, found.band_keys)
    assert index.find(bare, 12, 10) == match


def test_a_match_names_the_original_a_duplicate_stands_for() -> None:
    config = DedupConfig()
    index = _index(config)
    text = _text(400, 21)
    assert _file(index, text, 0, 10, "a") is None
    assert _file(index, text + " more words here", 1, 10, "b") == 0
    # Only the copy's postings may be left (the original's aged out of the cap): still 0.
    assert _file(index, text, 2, 10, "c") == 0


def test_find_deletes_expired_candidates_it_meets() -> None:
    config = DedupConfig(retention_days=5)
    index = _index(config)
    text = _text(300, 12)
    _file(index, text, 0, 1, "old")
    index.add(sketch(text, config.bands), 1, 8, url_ref("new"), 1)  # type: ignore[arg-type]
    found = sketch(text, config.bands)
    assert found is not None
    match = index.find(found, 2, 10, exclude=None)
    assert match is None  # the band postings of day 1 are past the window
    index.find(found, 3, 10)
    assert len(index.sketches.sketches) == 2
    assert index.sketches.find(found, [0, 1], 10) == Match(1, compare_self(found))
    assert len(index.sketches.sketches) == 1


def test_sketch_record_round_trip() -> None:
    record = SketchRecord(20000, 123, bytes(range(BINS)), url_ref("a"), 2**40)
    assert SketchRecord.unpack(record.pack()) == record
    assert len(record.pack()) == 4 + BINS + 16
