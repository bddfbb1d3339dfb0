"""Article record in, enriched record out; the enricher group of the settings is all it reads."""

from __future__ import annotations

from services.common.models import Article, Enriched, decode, encode
from services.common.settings import EnricherSettings
from services.common.stage import Output
from services.common.topics import ENRICHED
from services.enricher.registry import run_all

STAGE = "enricher"


def enrich(
    article: Article,
    config: EnricherSettings,
    timings: dict[str, float] | None = None,
    cpu_timings: dict[str, float] | None = None,
) -> Enriched:
    fields, errors, skipped = run_all(article, config, timings, cpu_timings)
    base = article.model_dump()
    base["trace"] = article.trace.stamped(STAGE)
    return Enriched(**base, **fields, enrichment_errors=errors, enrichment_skipped=skipped)


def handle_article(raw: bytes | None, config: EnricherSettings) -> list[Output]:
    enriched = enrich(decode(Article, raw), config)
    return [Output(ENRICHED.name, enriched.id.encode(), encode(enriched))]
