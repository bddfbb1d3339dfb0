from __future__ import annotations

from services.common.models import Article, Enriched
from services.common.settings import Settings
from services.enricher.keywords import extract
from services.enricher.pipeline import enrich


def test_seed_keywords(enriched_seed: Enriched) -> None:
    words = [k.text for k in enriched_seed.keywords]
    assert len(words) == Settings().keywords_top
    assert {"Hamas", "Gaza", "Israel"} <= set(words)
    scores = [k.score for k in enriched_seed.keywords]
    assert scores == sorted(scores)  # best (lowest) first


def test_byline_is_not_a_keyword(seed_article: Article) -> None:
    # A record whose body still opens with its headline and byline, and names its
    # author in the sign-off: none of it may come out as a keyword.
    assert seed_article.byline
    text = f"{seed_article.title}\n{seed_article.byline}\n\n{seed_article.text}"
    text += f"\n\n{seed_article.byline} contributed reporting. {seed_article.byline}."
    record = seed_article.model_copy(update={"text": text})
    out = enrich(record, Settings())
    folded = [k.text.casefold() for k in out.keywords]
    assert out.keywords
    assert not any(k in seed_article.byline.casefold() for k in folded), folded
    assert not any("staff writer" in k or "news of war" in k for k in folded)


def test_other_languages_and_empty_text() -> None:
    text = (
        "Die Regierung in Berlin plant neue Regeln für Mietwohnungen. Die Mietpreisbremse "
        "soll verlängert werden, sagte die Bauministerin. Mieterverbände begrüßten die Pläne "
        "für Mietwohnungen, Vermieter kritisierten die Mietpreisbremse."
    )
    found = [k.text for k in extract(text, "de", top=5, max_words=2)]
    assert "Mietpreisbremse" in found or "Mietwohnungen" in found
    assert extract("   ", "en", top=5, max_words=2) == []
