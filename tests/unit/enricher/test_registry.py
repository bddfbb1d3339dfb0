"""Which enrichers run and in what order, and what one failing (or the model several share)
takes with it. The language enricher is `services.common.language.detect`, checked here."""

from __future__ import annotations

import pytest

from services.common.models import Article
from services.common.settings import EnricherSettings, Settings
from services.enricher import registry
from services.enricher.context import ArticleContext
from services.enricher.pipeline import enrich


def test_failing_enricher_leaves_its_fields_empty_and_keeps_the_article(
    article: Article, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: ArticleContext) -> dict[str, object]:
        raise RuntimeError("model missing")

    monkeypatch.setitem(registry.ENRICHERS, "language", broken)
    out = enrich(article, EnricherSettings())
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
    out = enrich(article, EnricherSettings())
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
    assert registry.enabled(settings.enricher) == ["language", "stats"]
    out = enrich(article, settings.enricher)
    assert out.language == "en" and out.word_count > 0
    assert out.entities == [] and out.summary == [] and out.keywords == []
    assert out.embedding is None and out.embedding_model is None


def test_unknown_enricher_name_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="sentiment"):
        registry.enabled(Settings(enrichers="language,sentiment").enricher)
