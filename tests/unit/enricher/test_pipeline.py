"""An article through the enricher stage: every default enricher on the seed, and a German
article that skips the English-only ones."""

from __future__ import annotations

import json

from services.common.models import Article, Enriched
from services.common.settings import EnricherSettings
from services.enricher.pipeline import enrich
from services.enricher.stats import reading_time_seconds
from tests.conftest import validate_record


def test_enrich_seed(enriched_seed: Enriched) -> None:
    out = enriched_seed
    assert out.language == "en" and out.language_confidence and out.language_confidence > 0.9
    assert 600 < out.word_count < 800
    assert out.reading_time_seconds == reading_time_seconds(out.word_count, 230)
    assert len(out.summary) == 3
    assert all(s in out.text for s in out.summary)
    assert "enricher" in out.trace.stages
    assert out.enrichment_errors == {} and out.enrichment_skipped == {}
    assert out.entities and out.places and out.keywords and out.quotes
    validate_record("newswire.enriched", json.loads(out.model_dump_json()))


def test_non_english_article_skips_ner_but_keeps_the_rest() -> None:
    text = (
        "Die Verhandlungen in Kairo gehen weiter. Ägyptische Vermittler trafen am Mittwoch "
        "Vertreter der Hamas, sagte ein Sprecher des Außenministeriums in Berlin. "
        "„Wir sind vorsichtig optimistisch“, sagte Außenministerin Annalena Baerbock."
    )
    out = enrich(Article(id="de1", url="", text=text, paragraphs=[text]), EnricherSettings())
    assert out.language == "de"
    assert set(out.enrichment_skipped) == {"entities", "places", "quotes"}
    assert "'de'" in out.enrichment_skipped["entities"]
    assert out.enrichment_errors == {}
    assert out.entities == [] and out.keywords and out.summary and out.word_count > 0
