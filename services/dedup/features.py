"""Story features of an article: content terms and named-entity-like phrases.

Cheap on purpose (regexes, a stop list): story clustering must keep up with the
stream and must not need spaCy. When the enricher provides entities they replace
the capitalised-phrase heuristic.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?")
# A run of capitalised words (initials and "of"/"de"-style particles inside allowed).
_CAPITALISED = re.compile(
    r"\b[A-Z][\w'’.-]*[\w](?:\s+(?:(?:of|de|del|la|van|von|bin|al)\s+)?[A-Z][\w'’.-]*[\w])*"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”]\s+|\n\s*)$")
_LOOK_BACK = 32

_STOPWORD_TEXT = """
    a about above after again against ago all also although am among an and another any
    are around as at back be became because been before being below between both but by
    can could did do does doing done down during each either else even ever every few
    for from further get gets got had has have having he her here hers herself him
    himself his how however i if in into is it its itself just last later least less
    like made make many may me might more most much must my myself near new next no nor
    not now of off on once one only or other others our ours ourselves out over own per
    put said same say says see seen she should since so some still such than that the
    their theirs them themselves then there these they this those though three through
    thus to told too two under until up upon us very via was we were what when where
    whether which while who whom whose why will with within without would yet you your
    yours yourself yourselves mr mrs ms dr according news reported report reports
    reuters ap afp year years today yesterday tomorrow week weeks month months day days
    time times monday tuesday wednesday thursday friday saturday sunday am pm
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Capitalised words that start sentences or name days and months, not entities.
_NOT_ENTITY_TEXT = """
    january february march april may june july august september october november
    december but the a an he she it they we i this that these those there here when
    while after before his her their its our your according update updated photo video
    read more
"""
_NOT_ENTITIES = STOPWORDS | frozenset(_NOT_ENTITY_TEXT.split())


def _stem(word: str) -> str:
    """A light plural fold (rehabs -> rehab, parties -> party), enough for story overlap."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# Cached: a news stream's vocabulary repeats, and this runs for every word of every article.
@lru_cache(maxsize=1 << 16)
def normalise_term(word: str) -> str:
    word = word.casefold().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return _stem(word)


# Word as written -> its term, or "" when it is no content word. A plain dict: each
# distinct word of an article is looked up once, where an lru_cache call per word
# occurrence cost more than the folding it saved. Cleared when full (never stale).
_TERM_OF: dict[str, str] = {}
_TERM_OF_MAX = 1 << 18


def _term_of(word: str) -> str:
    term = normalise_term(word)
    kept = term if len(term) > 2 and term not in STOPWORDS else ""
    if len(_TERM_OF) >= _TERM_OF_MAX:
        _TERM_OF.clear()
    _TERM_OF[word] = kept
    return kept


def terms(text: str) -> Counter[str]:
    """Content words (stop words, numbers and single letters dropped), folded, with counts."""
    out: Counter[str] = Counter()
    known = _TERM_OF.get
    # Counted as written first: a word is folded once per article, not per occurrence.
    for word, count in Counter(_WORD.findall(text)).items():
        term = known(word)
        if term is None:
            term = _term_of(word)
        if term:
            out[term] += count
    return out


def capitalised_entities(text: str) -> Counter[str]:
    """Capitalised phrases that do not merely start a sentence, with counts.

    A one-word phrase at the start of a sentence counts only if the same word also
    appears capitalised elsewhere in the text. Multi-word phrases also count their last
    word, since later mentions name people by surname ("Tara Reid" ... "Reid").
    """
    found: list[tuple[str, bool]] = []
    for match in _CAPITALISED.finditer(text):
        phrase = match.group().strip(".")
        words = phrase.split()
        # Only the few characters before the phrase matter (searching the whole prefix
        # made this quadratic in the text's length).
        start = match.start()
        at_start = start == 0 or bool(
            _SENTENCE_START.search(text, max(0, start - _LOOK_BACK), start)
        )
        while words and words[0].casefold() in _NOT_ENTITIES:
            words = words[1:]
            at_start = False
        if not words:
            continue
        found.append((" ".join(words), at_start and len(words) == 1))
    seen_inside = {word for phrase, at_start in found if not at_start for word in phrase.split()}
    out: Counter[str] = Counter()
    for phrase, at_start in found:
        if at_start and phrase not in seen_inside:
            continue
        words = phrase.split()
        key = normalise_entity(phrase)
        if key:
            out[key] += 1
        if len(words) > 1:
            last = normalise_entity(words[-1])
            if last and last != key:
                out[last] += 1
    return out


# Cached: names repeat within an article and across the stream.
@lru_cache(maxsize=1 << 16)
def normalise_entity(name: str) -> str:
    words = [normalise_term(w) for w in re.findall(r"[^\W_][\w'’]*", name)]
    words = [w for w in words if w not in _NOT_ENTITIES]
    phrase = " ".join(words)
    return phrase if len(phrase) > 2 else ""


def given_entities(names: Iterable[str]) -> Counter[str]:
    """Entities from the enricher, normalised like the heuristic's."""
    out: Counter[str] = Counter()
    for name in names:
        key = normalise_entity(name)
        if key:
            out[key] += 1
            last = normalise_entity(name.split()[-1]) if " " in name.strip() else ""
            if last and last != key:
                out[last] += 1
    return out
