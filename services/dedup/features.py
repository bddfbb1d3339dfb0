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
from itertools import chain

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?")
# A run of capitalised words (initials and "of"/"de"-style particles inside allowed).
# (Written `[A-Z](?<=\b[A-Z])`, not `\b[A-Z]`: the same matches, but a pattern that opens
# with a character set lets the regex engine skip to the capitals instead of trying every
# position, which took 40 % off the scan.)
_CAPITALISED = re.compile(
    r"[A-Z](?<=\b[A-Z])[\w'’.-]*[\w]"
    r"(?:\s+(?:(?:of|de|del|la|van|von|bin|al)\s+)?[A-Z][\w'’.-]*[\w])*"
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


# A word (`_WORD`) never spans whitespace, and a run of non-space characters nearly
# always holds one word at most. So the text is split on whitespace (C speed) and each
# distinct chunk as written ("said,", "(Reuters)") is read once, by the regex, and
# remembered: the regex over every character of every article cost more than
# everything else in `terms`.
# Chunk -> the story feature keys ("t:<term>") of its content words, in order.
_KEYS_OF: dict[str, tuple[str, ...]] = {}
_KEYS_OF_MAX = 1 << 18
# What `_KEY_OF` gives a chunk of several content words: no feature key starts so.
_SEVERAL = "*"


def _keys_of(chunk: str) -> tuple[str, ...]:
    found = _KEYS_OF.get(chunk)
    if found is None:
        found = tuple(
            "t:" + term
            for term in map(normalise_term, _WORD.findall(chunk))
            if len(term) > 2 and term not in STOPWORDS
        )
        if len(_KEYS_OF) >= _KEYS_OF_MAX:
            _KEYS_OF.clear()
        _KEYS_OF[chunk] = found
    return found


# Punctuation that surrounds words ("(said,", "“Yes!”"). None is a letter, a digit or
# "_": a chunk that is all letters once these are stripped from its ends holds exactly
# that one word, which is what `_WORD` finds in it, without the regex.
_AROUND = "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~’‘“”—–…«»"
# Word -> its feature key, or "" when it is no content word (shared by the chunks
# that differ only in punctuation: a new chunk is rarely a new word).
_WORD_KEY: dict[str, str] = {}


def _word_key(word: str) -> str:
    term = normalise_term(word)
    found = "t:" + term if len(term) > 2 and term not in STOPWORDS else ""
    if len(_WORD_KEY) >= _KEYS_OF_MAX:
        _WORD_KEY.clear()
    _WORD_KEY[word] = found
    return found


class _ChunkKeys(dict[str, str]):
    """Chunk -> the feature key of its one content word, "" when it has none, `_SEVERAL`
    when it has more. Filled on first sight (`__missing__`), so that counting looks
    chunks up in C. Cleared when full (never stale)."""

    def __missing__(self, chunk: str) -> str:
        word = chunk.strip(_AROUND)
        if word.isalpha():
            found = _WORD_KEY.get(word)
            if found is None:
                found = _word_key(word)
        else:
            keys = _keys_of(chunk)
            found = keys[0] if len(keys) == 1 else _SEVERAL if keys else ""
        if len(self) >= _KEYS_OF_MAX:
            self.clear()
        self[chunk] = found
        return found


_KEY_OF = _ChunkKeys()


def term_features(text: str) -> Counter[str]:
    """`terms` with each term as its story feature key, "t:<term>", in the same order
    (the order in which the text first uses each term)."""
    chunks = text.split()
    keys = list(map(_KEY_OF.__getitem__, chunks))
    if _SEVERAL in keys:
        keys = _spelt_out(keys, chunks)
    # The keys in text order, counted: their first uses are the terms' first uses.
    out = Counter(keys)
    out.pop("", None)
    return out


def _spelt_out(keys: list[str], chunks: list[str]) -> list[str]:
    """`keys` with each chunk of several words ("end.Next", "and/or", a URL) replaced by
    the keys of its words, in order."""
    out: list[str] = []
    start = 0
    while (at := _index(keys, _SEVERAL, start)) >= 0:
        out += keys[start:at]
        out += _keys_of(chunks[at])
        start = at + 1
    out += keys[start:]
    return out


def _index(items: list[str], item: str, start: int) -> int:
    try:
        return items.index(item, start)
    except ValueError:
        return -1


def terms(text: str) -> Counter[str]:
    """Content words (stop words, numbers and single letters dropped), folded, with counts."""
    return Counter({key[2:]: count for key, count in term_features(text).items()})


def capitalised_entities(text: str) -> Counter[str]:
    """Capitalised phrases that do not merely start a sentence, with counts.

    A one-word phrase at the start of a sentence counts only if the same word also
    appears capitalised elsewhere in the text. Multi-word phrases also count their last
    word, since later mentions name people by surname ("Tara Reid" ... "Reid").
    """
    found: list[tuple[str, bool]] = []
    inside: list[tuple[str, ...]] = []  # the words of the phrases not at a sentence start
    known = _PHRASES.get
    sentence_start = _SENTENCE_START.search
    for match in _CAPITALISED.finditer(text):
        matched = match.group()
        phrase, single, words = known(matched) or _phrase(matched)
        if not phrase:
            continue
        at_start = False
        if single:  # only a lone word can be a mere sentence opener
            # Only the few characters before the phrase matter (searching the whole
            # prefix made this quadratic in the text's length).
            start = match.start()
            at_start = start == 0 or bool(sentence_start(text, max(0, start - _LOOK_BACK), start))
        if not at_start:
            inside.append(words)
        found.append((phrase, at_start))
    seen_inside = set(chain.from_iterable(inside))
    out: Counter[str] = Counter()
    get = out.get  # dict's own: Counter's missing-key hook is a Python call
    keys_of = _ENTITY_KEYS.get
    for phrase, at_start in found:
        if at_start and phrase not in seen_inside:
            continue
        key, last = keys_of(phrase) or _entity_keys(phrase)
        if key:
            out[key] = get(key, 0) + 1
        if last:
            out[last] = get(last, 0) + 1
    return out


# Phrases repeat within an article and across the stream, so what depends on the phrase
# alone is worked out once. Both cleared when full (never stale).
# Phrase as matched -> (its words from the first that can name something, or "" when
# none can; whether that is one word with nothing dropped before it, the only kind that
# a sentence start disqualifies; those words).
_PHRASES: dict[str, tuple[str, bool, tuple[str, ...]]] = {}
# Phrase -> (its entity key, its last word's key when that is another one, else "").
_ENTITY_KEYS: dict[str, tuple[str, str]] = {}
_PHRASES_MAX = 1 << 16


def _phrase(matched: str) -> tuple[str, bool, tuple[str, ...]]:
    words = matched.strip(".").split()
    dropped = False
    while words and words[0].casefold() in _NOT_ENTITIES:
        words = words[1:]
        dropped = True
    found = (" ".join(words), len(words) == 1 and not dropped, tuple(words))
    if len(_PHRASES) >= _PHRASES_MAX:
        _PHRASES.clear()
    _PHRASES[matched] = found
    return found


def _entity_keys(phrase: str) -> tuple[str, str]:
    words = phrase.split()
    key = normalise_entity(phrase)
    last = normalise_entity(words[-1]) if len(words) > 1 else ""
    found = (key, last if last and last != key else "")
    if len(_ENTITY_KEYS) >= _PHRASES_MAX:
        _ENTITY_KEYS.clear()
    _ENTITY_KEYS[phrase] = found
    return found


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
