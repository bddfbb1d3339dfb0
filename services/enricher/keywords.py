"""Keywords with YAKE: statistical, unsupervised, one stopword list per language.

YAKE's scores come from `yakescore` (the same keywords and scores as the yake package,
computed without its per-word objects and graph library) unless `engine="yake"` asks
for the package itself (the benchmark's "before", and the reference the tests hold
`yakescore` to).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.models import Keyword
from services.enricher import yakescore
from services.enricher.loaded import Loaded

# YAKE's stopword lists use "cz" where ISO 639-1 says "cs"; others fall back to "noLang".
YAKE_LANGUAGE = {"cs": "cz"}
# A keyword longer than this many characters is a phrase YAKE glued together, not a term.
MAX_CHARS = 60
# Words that say what the author does, not who they are: "News of War Staff Writer" is the
# site "News of War", "Fumio Kishida, Tokyo bureau chief" is the person "Fumio Kishida".
_ROLE_WORDS = (
    "staff writer writers reporter reporters correspondent correspondents bureau chief "
    "editor editors desk contributor contributors columnist newsroom wire"
)
ROLE_WORDS = frozenset(_ROLE_WORDS.split())
# Several authors in one byline: "Jane Doe and John Roe", "Jane Doe, AP", "Doe | Reuters".
_AUTHOR_SEPARATOR = re.compile(r"\s*(?:[,;|&/]|\band\b)\s*", re.IGNORECASE)
_BY = re.compile(r"^\s*by\s+", re.IGNORECASE)
# Lower-case words that still belong to a person's name ("Ludwig van Beethoven").
_NAME_PARTICLES = "al bin da de del della der di du el ibn la le van von"
NAME_PARTICLES = frozenset(_NAME_PARTICLES.split())


def _load(key: tuple[str, int, int]) -> Any:
    import yake

    language, max_words, top = key
    return yake.KeywordExtractor(lan=language, n=max_words, top=top)


# Reading the stopword list costs more than a short article: one extractor per setting.
_extractors: Loaded[tuple[str, int, int], Any] = Loaded("YAKE extractor", _load)


def _extractor(language: str, max_words: int, top: int) -> Any:
    return _extractors.get((language, max_words, top))


def tokens(text: str) -> tuple[str, ...]:
    """Case-folded words: names compare word by word, so "AP" is never part of "Japan"."""
    return tuple(re.findall(r"\w+", text.casefold()))


def _parts(entry: str) -> list[str]:
    return [p for p in _AUTHOR_SEPARATOR.split(_BY.sub("", entry)) if p.strip()]


def _has_role(part: str) -> bool:
    return any(t in ROLE_WORDS for t in tokens(part))


def _name_words(part: str) -> list[str]:
    """The words of a name with its role cut off: leading roles dropped, the rest cut at the
    first role word ("Staff Writer Jane Doe" and "News of War Staff Writer" name no staff)."""
    words = re.findall(r"\w+", part)
    while words and words[0].casefold() in ROLE_WORDS:
        words.pop(0)
    for i, word in enumerate(words):
        if word.casefold() in ROLE_WORDS:
            return words[:i]
    return words


def _is_person_like(words: Sequence[str]) -> bool:
    """Two or more capitalised words: a person, whose surname alone also names them.

    "News of War" is not: its "war" and "news" are ordinary words, not the author.
    """
    return len(words) >= 2 and all(w[0].isupper() or w in NAME_PARTICLES for w in words)


def _contains(seq: Sequence[str], run: Sequence[str]) -> bool:
    n = len(run)
    return n > 0 and any(tuple(seq[i : i + n]) == tuple(run) for i in range(len(seq) - n + 1))


@dataclass(frozen=True)
class Banned:
    """What of a byline may not be a keyword, as case-folded word sequences."""

    names: tuple[tuple[str, ...], ...]  # no keyword is or contains one ("Jane Doe said")
    people: tuple[tuple[str, ...], ...]  # nor is a part of one ("Doe")
    lines: tuple[tuple[str, ...], ...]  # nor a run of one with a role word ("Staff Writer")


def banned_from(exclude: Iterable[str]) -> Banned:
    """The author names in `exclude` (a byline, the authors split from it), roles cut off."""
    entries = [x for x in exclude if x and x.strip()]
    # "Tokyo bureau chief" after a comma describes the author before it; the cleaner
    # also passes it on as an author of its own, where it must not name "Tokyo".
    roles = {tokens(p) for e in entries for p in _parts(e)[1:] if _has_role(p)}
    names: list[tuple[str, ...]] = []
    people: list[tuple[str, ...]] = []
    for entry in entries:
        if tokens(entry) in roles:
            continue
        for i, part in enumerate(_parts(entry)):
            if i > 0 and _has_role(part):
                continue
            words = _name_words(part)
            if words:
                names.append(tokens(" ".join(words)))
                if _is_person_like(words):
                    people.append(names[-1])
    lines = tuple(tokens(e) for e in entries if _has_role(e))
    return Banned(tuple(dict.fromkeys(names)), tuple(dict.fromkeys(people)), lines)


def is_banned(phrase: str, banned: Banned) -> bool:
    """Whether `phrase` is the author or the byline rather than a subject of the article."""
    words = tokens(phrase)
    if any(_contains(words, name) for name in banned.names):
        return True
    if any(_contains(person, words) for person in banned.people):
        return True
    # Only a run that takes a role word with it: "war" alone is not the byline's.
    return (
        len(words) >= 2
        and any(w in ROLE_WORDS for w in words)
        and any(_contains(line, words) for line in banned.lines)
    )


def extract(
    text: str,
    language: str | None,
    *,
    top: int,
    max_words: int,
    exclude: tuple[str, ...] = (),
    engine: str = "newswire",
) -> list[Keyword]:
    """The `top` keywords of `text`, best first; none that is the author (`exclude`: byline,
    author names) or the site named in the byline."""
    if not text.strip():
        return []
    lang = YAKE_LANGUAGE.get(language or "en", language or "en")
    banned = banned_from(exclude)
    # A few spare candidates so that dropping banned ones still leaves `top`.
    if engine == "yake":
        found = _extractor(lang, max_words, top + 5).extract_keywords(text)
    else:
        found = yakescore.keywords(text, lang, n=max_words, top=top + 5)
    out: list[Keyword] = []
    for phrase, score in found:
        if len(str(phrase)) > MAX_CHARS or is_banned(str(phrase), banned):
            continue
        out.append(Keyword(text=str(phrase), score=round(max(float(score), 0.0), 6)))
        if len(out) == top:
            break
    return out


def clear_caches() -> None:
    """Empty YAKE's memo caches (word tags, similarities), the package's and `yakescore`'s:
    they are shared by every extractor, so a text extracted twice is faster the second time;
    the benchmark clears them before each article when it runs one article through two
    configurations."""
    yakescore.clear_caches()
    for extractor in list(_extractors._values.values()):
        extractor.clear_caches()
        break  # the caches are module- and class-level: one call empties them all
