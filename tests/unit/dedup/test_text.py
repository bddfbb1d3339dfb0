"""Word and shingle hashes: folding, determinism, order, the general path outside the BMP."""

from __future__ import annotations

import numpy as np

from services.dedup.lsh import band_key
from services.dedup.neardup import sketch
from services.dedup.text import shingle_hashes, word_hashes


def test_word_hashes_fold_case_punctuation_and_compatibility_forms() -> None:
    a = word_hashes("Hello, WORLD! The ｆｉｎｅ café.")  # full-width letters fold
    b = word_hashes("hello world the fine CAFÉ")
    assert a.size == 5 and np.array_equal(a, b)
    assert word_hashes("").size == 0 and word_hashes(" ,;. ").size == 0
    assert word_hashes("北京 x_y 😀ok").size == 4  # x_y splits; astral characters are word chars


def test_shingle_hashes_are_deterministic_distinct_and_order_sensitive() -> None:
    text = "one two three four five six seven"
    h = shingle_hashes(text)
    assert h.size == 3 and np.all(h[1:] > h[:-1])
    assert np.array_equal(h, shingle_hashes(text.upper()))
    assert not np.array_equal(h, shingle_hashes("two one three four five six seven"))
    assert shingle_hashes("just three words").size == 1
    # Fixed values: the index must survive restarts and other machines.
    assert int(shingle_hashes("a b c d e")[0]) == int(shingle_hashes("A. B, c d E!")[0])
    assert int(shingle_hashes("a b c d e")[0]) == 0x4A92B8064BF06BA7
    s = sketch("one two three four five six seven eight nine ten", 7)
    assert s is not None and s.shingles == 6 and s.signature[:4].hex() == "75604b36"
    assert s.band_names[:2] == ("ozHpnFq8u9c", "DM2ZR1N1ehg")
    assert s.band_names == tuple(band_key(k) for k in s.band_keys)


def test_word_hashes_outside_the_bmp_and_lone_surrogates_take_the_general_path() -> None:
    # The same words hash the same whichever path reads the text (UTF-16 or UTF-32).
    plain = word_hashes("café naïve ok")
    assert np.array_equal(word_hashes("café 😀 naïve ok")[[0, 2, 3]], plain)
    assert word_hashes("café 😀 naïve ok")[1] == word_hashes("x 😀")[1]
    # A lone surrogate is replaced, so it separates words as punctuation would.
    assert np.array_equal(word_hashes("café\ud800naïve ok"), plain)
