"""Story features: capitalised entities, terms, the enricher's entities."""

from __future__ import annotations

import random
import re
from collections import Counter

from services.dedup import features
from services.dedup.cluster import story_features
from services.dedup.features import (
    STOPWORDS,
    capitalised_entities,
    normalise_entity,
    normalise_term,
    term_features,
    terms,
)


def test_features_heuristic() -> None:
    text = "Tara Reid checked into Promises Treatment Center. Reid is 33. The actress left."
    found = capitalised_entities(text)
    assert found["tara reid"] == 1 and found["reid"] == 2
    assert "the" not in found and "promise treatment center" in found
    assert terms("The rehabs, the parties!")["rehab"] == 1
    assert story_features("body", entities=["Lindsay Lohan"])["e:lindsay lohan"] == 1


# The definitions the fast paths must agree with: the regexes over the whole text.
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?")
_CAPITALISED = re.compile(
    r"\b[A-Z][\w'’.-]*[\w](?:\s+(?:(?:of|de|del|la|van|von|bin|al)\s+)?[A-Z][\w'’.-]*[\w])*"
)


def _reference_terms(text: str) -> list[tuple[str, int]]:
    out: Counter[str] = Counter()
    for word in _WORD.findall(text):
        term = normalise_term(word)
        if len(term) > 2 and term not in STOPWORDS:
            out[term] += 1
    return list(out.items())


def _texts() -> list[str]:
    rng = random.Random(11)
    pieces = [
        "Tara",
        "Reid",
        "said,",
        "(Reuters)",
        "end.Next",
        "and/or",
        "U.S.",
        "rock-and-roll",
        "'quoted'",
        "O'Neil",
        "Obama’s",
        "9am",
        "_x_",
        "a_b",
        "x-",
        "--",
        "2024",
        "café",
        "“Yes”",
        "www.example.com/path",
        "The",
        "the",
        "Mr.",
        "Bank",
        "of",
        "England",
        "de",
        "Ⅻ",
        "ĳ",
        "İstanbul",
        "rehabs",
        "parties",
        ".",
        "!",
        "Kindle書籍",
    ]
    pieces += ["e\u0301", "\n", "Bank of England", "the\tend"]
    texts = [" ".join(rng.choice(pieces) for _ in range(rng.randrange(0, 60))) for _ in range(300)]
    return [*texts, "", "x", *pieces]


def test_terms_are_the_regex_words_in_first_use_order() -> None:
    for text in _texts():
        expected = _reference_terms(text)
        assert list(terms(text).items()) == expected, repr(text)
        assert list(term_features(text).items()) == [(f"t:{k}", v) for k, v in expected]


def test_capitalised_pattern_is_the_word_boundary_form() -> None:
    for text in [*_texts(), "A", "_A", "1A", "éA", "Ab. Cd", "AB", "A-B", "a Bc"]:
        ours = [(m.start(), m.group()) for m in features._CAPITALISED.finditer(text)]
        assert ours == [(m.start(), m.group()) for m in _CAPITALISED.finditer(text)], repr(text)
        expected = _reference_entities(text)
        for _ in range(2):  # uncached, then from the caches
            assert list(capitalised_entities(text).items()) == expected, repr(text)


def _reference_entities(text: str) -> list[tuple[str, int]]:
    """`capitalised_entities` as it was written before its caches."""
    found: list[tuple[str, bool]] = []
    for match in _CAPITALISED.finditer(text):
        words = match.group().strip(".").split()
        start = match.start()
        opener = features._SENTENCE_START.search(text, max(0, start - 32), start)
        at_start = start == 0 or bool(opener)
        while words and words[0].casefold() in features._NOT_ENTITIES:
            words, at_start = words[1:], False
        if words:
            found.append((" ".join(words), at_start and len(words) == 1))
    seen_inside = {word for phrase, at_start in found if not at_start for word in phrase.split()}
    out: Counter[str] = Counter()
    for phrase, at_start in found:
        if at_start and phrase not in seen_inside:
            continue
        key = normalise_entity(phrase)
        if key:
            out[key] += 1
        if len(phrase.split()) > 1:
            last = normalise_entity(phrase.split()[-1])
            if last and last != key:
                out[last] += 1
    return list(out.items())
