"""One article on its way through the enrichers, with the work they share done once.

Several enrichers need the same expensive result (places and quotes both need
the entities); the context computes it on first request and keeps it, failure
included, so a broken model costs one try and one recorded reason per article.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.common import language
from services.common.models import Article, Entity
from services.common.settings import EnricherSettings
from services.enricher import entities, gazetteer, ner

T = TypeVar("T")


class Skipped(Exception):
    """An enricher does not apply to this article (e.g. no model for its language)."""


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"^by\s+", "", line.strip().casefold()))


def head_length(text: str, title: str | None, byline: str | None) -> int:
    """Characters at the top of `text` that are only the headline or the byline again.

    The cleaner takes them off already; a record from elsewhere (`newswire enrich`)
    may still carry them, and they would skew keywords and the summary.
    """
    drop = {_norm(x) for x in (title, byline) if x and x.strip()}
    pos = 0
    while drop:
        stripped = len(text) - len(text[pos:].lstrip())
        line_end = text.find("\n", stripped)
        line_end = len(text) if line_end < 0 else line_end
        if stripped >= len(text) or _norm(text[stripped:line_end]) not in drop:
            break
        pos = line_end
    return pos + (len(text[pos:]) - len(text[pos:].lstrip()))


@dataclass
class ArticleContext:
    article: Article
    config: EnricherSettings
    _memo: dict[str, tuple[bool, Any]] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """compute() once per article; a raised exception is remembered and raised again."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, compute())
            except Exception as exc:
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    @property
    def body_offset(self) -> int:
        a = self.article
        return self.memo("body_offset", lambda: head_length(a.text, a.title, a.byline))

    @property
    def body(self) -> str:
        return self.article.text[self.body_offset :]

    def language(self) -> tuple[str | None, float | None]:
        return self.memo("language", lambda: language.detect(self.body))

    def ner_model(self) -> str:
        """The NER pipeline for this article's language, or Skipped saying why there is none."""
        lang = self.language()[0] or (self.article.language_hint or "")[:2].lower() or None
        if lang is None:
            raise Skipped("language unknown (body too short to tell): no entity recognition")
        model = self.config.ner_models.get(lang)
        if model is None:
            raise Skipped(f"no entity model for language {lang!r}")
        return model

    def entities(self) -> list[Entity]:
        def compute() -> list[Entity]:
            model = self.ner_model()
            raw = ner.recognise(
                self.body[: self.config.ner_max_chars],
                model,
                self.config.ner_matmul,
            )
            found = entities.canonicalise(raw, gazetteer.country_code, self.article.title)
            return entities.offset(found, self.body_offset)

        return self.memo("entities", compute)
