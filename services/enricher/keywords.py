"""Keywords with YAKE: statistical, unsupervised, one stopword list per language."""

from __future__ import annotations

from typing import Any

from services.common.models import Keyword
from services.enricher.loaded import Loaded

# YAKE's stopword lists use "cz" where ISO 639-1 says "cs"; others fall back to "noLang".
YAKE_LANGUAGE = {"cs": "cz"}
# A keyword longer than this many characters is a phrase YAKE glued together, not a term.
MAX_CHARS = 60


def _load(key: tuple[str, int, int]) -> Any:
    import yake

    language, max_words, top = key
    return yake.KeywordExtractor(lan=language, n=max_words, top=top)


# Reading the stopword list costs more than a short article: one extractor per setting.
_extractors: Loaded[tuple[str, int, int], Any] = Loaded("YAKE extractor", _load)


def _extractor(language: str, max_words: int, top: int) -> Any:
    return _extractors.get((language, max_words, top))


def extract(
    text: str,
    language: str | None,
    *,
    top: int,
    max_words: int,
    exclude: tuple[str, ...] = (),
) -> list[Keyword]:
    """The `top` keywords of `text`, best first; none that appear in `exclude` (the byline)."""
    if not text.strip():
        return []
    lang = YAKE_LANGUAGE.get(language or "en", language or "en")
    banned = [x.casefold() for x in exclude if x]
    # A few spare candidates so that dropping banned ones still leaves `top`.
    found = _extractor(lang, max_words, top + 5).extract_keywords(text)
    out: list[Keyword] = []
    for phrase, score in found:
        folded = str(phrase).casefold()
        if len(folded) > MAX_CHARS or any(folded in b or b in folded for b in banned):
            continue
        out.append(Keyword(text=str(phrase), score=round(max(float(score), 0.0), 6)))
        if len(out) == top:
            break
    return out
