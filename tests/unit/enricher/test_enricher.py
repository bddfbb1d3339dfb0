from __future__ import annotations

import json

import pytest

from services.common.language import detect
from services.common.models import Article, Enriched
from services.common.settings import Settings
from services.enricher import registry
from services.enricher.context import ArticleContext, head_length
from services.enricher.pipeline import enrich
from services.enricher.stats import reading_time_seconds, word_count
from services.enricher.summary import sentences, summarize
from tests.conftest import validate_record


def test_language_of_the_body() -> None:
    assert (
        detect("Les négociations se poursuivent au Caire entre les médiateurs égyptiens.")[0]
        == "fr"
    )
    assert detect("short") == (None, None)


def test_word_count_and_reading_time() -> None:
    assert word_count("Hamas's leader, Ismail Haniyeh, went to Cairo.") == 7
    assert reading_time_seconds(230, 230) == 60
    assert reading_time_seconds(0, 230) == 0


def test_summary_keeps_article_order_and_skips_weak_sentences() -> None:
    text = (
        "Click here. The ceasefire talks in Cairo involve Hamas and Egyptian mediators. "
        "Weather was nice. Hamas mediators in Cairo discussed ceasefire terms and hostages. "
        "Egyptian mediators said the ceasefire talks on hostages would continue in Cairo."
    )
    picked = summarize(text, 2)
    assert len(picked) == 2
    assert all("Cairo" in s for s in picked)
    assert picked == [s for s in sentences(text) if s in picked]


def test_summary_passes_over_a_weak_lead(seed_article: Article) -> None:
    weak = "Here is what we know so far, and what we do not, as of this morning.\n\n"
    picked = summarize(weak + seed_article.text, 3)
    assert len(picked) == 3 and weak.strip() not in picked
    # Not simply the opening sentences: the summary reaches into the article.
    first_three = sentences(seed_article.text)[:3]
    assert picked != first_three


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


def test_failing_enricher_leaves_its_fields_empty_and_keeps_the_article(
    article: Article, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: ArticleContext) -> dict[str, object]:
        raise RuntimeError("model missing")

    monkeypatch.setitem(registry.ENRICHERS, "language", broken)
    out = enrich(article, Settings())
    assert out.language is None
    assert "model missing" in out.enrichment_errors["language"]
    assert out.word_count > 0 and out.summary and out.entities and out.keywords


def test_failing_shared_model_fails_its_dependants_only(
    article: Article, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def no_model(text: str, model: str, matmul: str = "numpy") -> list[object]:
        calls.append(model)
        raise OSError(f"can't find model {model!r}")

    monkeypatch.setattr("services.enricher.ner.recognise", no_model)
    out = enrich(article, Settings())
    assert set(out.enrichment_errors) == {"entities", "places", "quotes"}
    assert all("can't find model" in why for why in out.enrichment_errors.values())
    assert len(calls) == 1  # tried once per article, not once per enricher
    assert out.entities == [] and out.places == [] and out.quotes == []
    assert out.language == "en" and out.keywords and out.summary and out.word_count


def test_enrichers_are_chosen_and_ordered_by_settings(
    article: Article, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWIRE_ENRICHERS", "language, stats")
    settings = Settings()
    assert registry.enabled(settings) == ["language", "stats"]
    out = enrich(article, settings)
    assert out.language == "en" and out.word_count > 0
    assert out.entities == [] and out.summary == [] and out.keywords == []
    assert out.embedding is None and out.embedding_model is None


def test_unknown_enricher_name_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="sentiment"):
        registry.enabled(Settings(enrichers="language,sentiment"))


def test_non_english_article_skips_ner_but_keeps_the_rest() -> None:
    text = (
        "Die Verhandlungen in Kairo gehen weiter. Ägyptische Vermittler trafen am Mittwoch "
        "Vertreter der Hamas, sagte ein Sprecher des Außenministeriums in Berlin. "
        "„Wir sind vorsichtig optimistisch“, sagte Außenministerin Annalena Baerbock."
    )
    out = enrich(Article(id="de1", url="", text=text, paragraphs=[text]), Settings())
    assert out.language == "de"
    assert set(out.enrichment_skipped) == {"entities", "places", "quotes"}
    assert "'de'" in out.enrichment_skipped["entities"]
    assert out.enrichment_errors == {}
    assert out.entities == [] and out.keywords and out.summary and out.word_count > 0


def test_headline_and_byline_repeated_at_the_top_are_not_body() -> None:
    text = "Big Storm Hits Town\nBy Jane Roe\n\nThe storm came at night."
    offset = head_length(text, "Big Storm Hits Town", "Jane Roe")
    assert text[offset:] == "The storm came at night."
    assert head_length(text, None, None) == 0
