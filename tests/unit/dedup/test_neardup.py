from __future__ import annotations

import random

from services.dedup.lsh import b64key
from services.dedup.neardup import BINS, b64_names, compare, sketch

rng = random.Random(3)
VOCAB = [f"word{i}" for i in range(3000)]


def _text(words: int, seed: int) -> str:
    r = random.Random(seed)
    return " ".join(r.choice(VOCAB) for _ in range(words))


def test_b64_names_encode_many_keys_as_b64key_does_one() -> None:
    keys = [bytes(rng.randrange(256) for _ in range(8)) for _ in range(50)]
    keys += [bytes(8), b"\xff" * 8]
    padded = b"".join(k + b"\x00" for k in keys)
    assert b64_names(padded) == tuple(b64key(k) for k in keys)
    assert b64_names(b"") == ()


def test_sketch_estimates_jaccard_and_containment() -> None:
    base = _text(800, 1)
    words = base.split()
    half = " ".join(words[:400])
    padded = base + " " + _text(1600, 2)  # the article inside three times its length
    other = _text(800, 3)
    s_base, s_half, s_pad, s_other = (sketch(t, 7) for t in (base, half, padded, other))
    assert s_base and s_half and s_pad and s_other
    assert len(s_base.signature) == BINS and len(s_base.band_keys) == 7
    same = compare(s_base.signature, s_base.shingles, s_base.signature, s_base.shingles)
    assert same.jaccard == 1.0 and same.containment == 1.0
    part = compare(s_base.signature, s_base.shingles, s_half.signature, s_half.shingles)
    assert 0.3 < part.jaccard < 0.7 and part.containment > 0.8
    pad = compare(s_half.signature, s_half.shingles, s_pad.signature, s_pad.shingles)
    assert pad.jaccard < 0.3 and pad.containment > 0.7
    unrelated = compare(s_base.signature, s_base.shingles, s_other.signature, s_other.shingles)
    assert unrelated.containment < 0.2
    assert sketch("", 7) is None
