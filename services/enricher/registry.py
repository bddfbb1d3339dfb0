"""The enrichers: pure functions from an article to its new fields, applied in order.

Which run, and in what order, is the `enrichers` setting (NEWSWIRE_ENRICHERS).
An enricher that fails leaves its fields at their defaults and records why in
`enrichment_errors`; one that does not apply (no entity model for the article's
language) says so in `enrichment_skipped`. The article itself always goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from services.common.models import Article
from services.common.settings import EnricherSettings
from services.enricher import embedding, keywords, places, quotes, stats, summary
from services.enricher.context import ArticleContext, Skipped

log = logging.getLogger(__name__)

Enricher = Callable[[ArticleContext], dict[str, Any]]


def enrich_language(ctx: ArticleContext) -> dict[str, Any]:
    lang, confidence = ctx.language()
    return {"language": lang, "language_confidence": confidence}


def enrich_stats(ctx: ArticleContext) -> dict[str, Any]:
    words = stats.word_count(ctx.body)
    return {
        "word_count": words,
        "reading_time_seconds": stats.reading_time_seconds(
            words, ctx.config.reading_words_per_minute
        ),
    }


def enrich_entities(ctx: ArticleContext) -> dict[str, Any]:
    return {"entities": ctx.entities()}


def enrich_places(ctx: ArticleContext) -> dict[str, Any]:
    return {"places": places.resolve(ctx.entities(), ctx.config.place_min_population)}


def enrich_keywords(ctx: ArticleContext) -> dict[str, Any]:
    a = ctx.article
    found = keywords.extract(
        ctx.body,
        ctx.language()[0],
        top=ctx.config.keywords_top,
        max_words=ctx.config.keywords_max_words,
        exclude=tuple(x for x in (a.byline, *a.authors) if x),
        engine=ctx.config.keywords_engine,
    )
    return {"keywords": found}


def enrich_quotes(ctx: ArticleContext) -> dict[str, Any]:
    speakers = quotes.speakers_from(ctx.entities(), offset=ctx.body_offset)
    found = quotes.extract(ctx.body, speakers)
    shift = ctx.body_offset
    return {
        "quotes": [
            q.model_copy(update={"start": q.start + shift, "end": q.end + shift}) for q in found
        ]
    }


def enrich_summary(ctx: ArticleContext) -> dict[str, Any]:
    return {"summary": summary.summarize(ctx.body, ctx.config.summary_sentences)}


def enrich_embedding(ctx: ArticleContext) -> dict[str, Any]:
    s = ctx.config
    text = embedding.article_text(ctx.article.title, ctx.body, s.embedding_max_chars)
    if not text:
        raise Skipped("no headline or body to embed")
    model = embedding.embedder(s.embedding_model, s.embedding_model_dir, s.embedding_max_tokens)
    return {
        "embedding": embedding.to_list(model.embed(text)),
        "embedding_model": s.embedding_model,
    }


ENRICHERS: dict[str, Enricher] = {
    "language": enrich_language,
    "stats": enrich_stats,
    "entities": enrich_entities,
    "places": enrich_places,
    "keywords": enrich_keywords,
    "quotes": enrich_quotes,
    "summary": enrich_summary,
    "embedding": enrich_embedding,
}


def enabled(config: EnricherSettings) -> list[str]:
    """The configured enricher names, in order; an unknown name is a configuration error."""
    names = [n.strip() for n in config.enrichers.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENRICHERS]
    if unknown:
        raise ValueError(
            f"unknown enrichers {unknown} in NEWSWIRE_ENRICHERS; known: {list(ENRICHERS)}"
        )
    return names


def warm_up(config: EnricherSettings) -> None:
    """Load every model the enabled enrichers use, so the first article does not wait."""
    names = set(enabled(config))
    if names & {"entities", "places", "quotes"}:
        from services.enricher import ner

        for model in config.ner_models.values():
            ner.pipeline(model, config.ner_matmul)
    if "places" in names:
        places.index(config.place_min_population)
    sample = Article(
        id="warm-up",
        url="",
        text="Warm-up text for the enrichers, written in English to load every model.",
        paragraphs=[],
    )
    run_all(sample, config)


Results = tuple[dict[str, Any], dict[str, str], dict[str, str]]


def run_all(
    article: Article,
    config: EnricherSettings,
    timings: dict[str, float] | None = None,
    cpu_timings: dict[str, float] | None = None,
) -> Results:
    """(fields, errors, skipped) of the enabled enrichers; `timings` gathers wall seconds
    per name, `cpu_timings` this thread's CPU seconds (what a busy machine disturbs less).

    Shared work (entity recognition) is timed under the first enricher that needs it.
    """
    ctx = ArticleContext(article, config)
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in enabled(config):
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            fields.update(ENRICHERS[name](ctx))
        except Skipped as why:
            skipped[name] = str(why)
        except Exception as exc:  # one enricher's failure must not lose the article
            log.warning("enricher %s failed on %s: %s", name, article.id, exc)
            errors[name] = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            if timings is not None:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
            if cpu_timings is not None:
                cpu = time.thread_time() - cpu_started
                cpu_timings[name] = cpu_timings.get(name, 0.0) + cpu
    return fields, errors, skipped
