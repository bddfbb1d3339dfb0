from __future__ import annotations

import pytest

from services.cleaner.extract import extract_plain
from services.common.models import Article
from services.common.settings import Settings
from services.enricher import registry
from services.enricher.language import detect
from services.enricher.pipeline import enrich
from services.enricher.stats import reading_time_seconds, word_count
from services.enricher.summary import sentences, summarize


@pytest.fixture
def article(seed_text: str) -> Article:
    ext = extract_plain(seed_text)
    return Article(
        id="a1",
        url="http://example.com/a",
        title=ext.title,
        text=ext.text,
        paragraphs=ext.paragraphs,
    )


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


def test_enrich_seed(article: Article) -> None:
    out = enrich(article, Settings())
    assert out.language == "en" and out.language_confidence and out.language_confidence > 0.9
    assert 600 < out.word_count < 800
    assert out.reading_time_seconds == reading_time_seconds(out.word_count, 230)
    assert len(out.summary) == 3
    assert all(s in out.text for s in out.summary)
    assert "enricher" in out.trace.stages
    assert out.enrichment_errors == {}


def test_failing_enricher_leaves_its_fields_empty_and_keeps_the_article(
    article: Article, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: Article, __: Settings) -> dict[str, object]:
        raise RuntimeError("model missing")

    monkeypatch.setitem(registry.ENRICHERS, "language", broken)
    out = enrich(article, Settings())
    assert out.language is None
    assert "model missing" in out.enrichment_errors["language"]
    assert out.word_count > 0 and out.summary
