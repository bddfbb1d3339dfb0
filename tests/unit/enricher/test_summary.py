"""The extractive summary: sentences in article order, weak ones and weak leads passed over."""

from __future__ import annotations

from services.common.models import Article
from services.enricher.summary import sentences, summarize


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
