"""The enrichers: pure functions from an article to its new fields, applied in order.

An enricher that fails leaves its fields at their defaults and records why in
`enrichment_errors`; the article itself always goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.common.models import Article
from services.common.settings import Settings
from services.enricher import language, stats, summary

log = logging.getLogger(__name__)

Enricher = Callable[[Article, Settings], dict[str, Any]]


def enrich_language(article: Article, settings: Settings) -> dict[str, Any]:
    lang, confidence = language.detect(article.text)
    return {"language": lang, "language_confidence": confidence}


def enrich_stats(article: Article, settings: Settings) -> dict[str, Any]:
    words = stats.word_count(article.text)
    return {
        "word_count": words,
        "reading_time_seconds": stats.reading_time_seconds(
            words, settings.reading_words_per_minute
        ),
    }


def enrich_summary(article: Article, settings: Settings) -> dict[str, Any]:
    return {"summary": summary.summarize(article.text, settings.summary_sentences)}


ENRICHERS: dict[str, Enricher] = {
    "language": enrich_language,
    "stats": enrich_stats,
    "summary": enrich_summary,
}


def run_all(article: Article, settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, enricher in ENRICHERS.items():
        try:
            fields.update(enricher(article, settings))
        except Exception as exc:  # one enricher's failure must not lose the article
            log.warning("enricher %s failed on %s: %s", name, article.id, exc)
            errors[name] = f"{type(exc).__name__}: {exc}"[:500]
    return fields, errors
