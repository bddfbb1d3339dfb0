"""Article record in, enriched record out."""

from __future__ import annotations

from services.common.models import Article, Enriched, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import ENRICHED
from services.enricher.registry import run_all

STAGE = "enricher"


def enrich(
    article: Article,
    settings: Settings,
    timings: dict[str, float] | None = None,
    cpu_timings: dict[str, float] | None = None,
) -> Enriched:
    fields, errors, skipped = run_all(article, settings, timings, cpu_timings)
    base = article.model_dump()
    base["trace"] = article.trace.stamped(STAGE)
    return Enriched(**base, **fields, enrichment_errors=errors, enrichment_skipped=skipped)


def handle_article(raw: bytes | None, settings: Settings) -> list[Output]:
    enriched = enrich(decode(Article, raw), settings)
    return [Output(ENRICHED.name, enriched.id.encode(), encode(enriched))]
