"""yakescore returns the yake package's keywords and scores, to the last bit."""

from __future__ import annotations

import pytest
import yake

from services.common.models import Article
from services.common.settings import EnricherSettings, Settings
from services.enricher import keywords, yakescore
from services.enricher.pipeline import enrich
from tests.unit.enricher.test_keywords import JAPAN, SUDAN, TARIFFS

GERMAN = (
    "Die Regierung in Berlin plant neue Regeln für Mietwohnungen. Die Mietpreisbremse "
    "soll verlängert werden, sagte die Bauministerin. Mieterverbände begrüßten die Pläne "
    "für Mietwohnungen, Vermieter kritisierten die Mietpreisbremse."
)
# Digits, acronyms, contractions, quotes, a repeated word, tabs and no final stop.
ODD = (
    "NATO's chief said: \"We won't\tleave.\" The 2024 budget rose 3.5% to $1,200m; "
    "NATO NATO members met in Brussels\nand Brussels-based officials (EU) didn't comment"
)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize(
    ("text", "language"),
    [(JAPAN, "en"), (TARIFFS, "en"), (SUDAN, "en"), (GERMAN, "de"), (ODD, "en"), (ODD, "xx")],
)
def test_same_keywords_and_scores_as_the_package(text: str, language: str, n: int) -> None:
    expected = yake.KeywordExtractor(lan=language, n=n, top=20).extract_keywords(text)
    assert expected  # each case gives the package something to find
    assert yakescore.keywords(text, language, n=n, top=20) == expected


def test_the_seed_article_alike(seed_article: Article) -> None:
    text = seed_article.text
    expected = yake.KeywordExtractor(lan="en", n=2, top=15).extract_keywords(text)
    assert yakescore.keywords(text, "en", n=2, top=15) == expected
    assert keywords.extract(text, "en", top=10, max_words=2) == keywords.extract(
        text, "en", top=10, max_words=2, engine="yake"
    )


def test_the_setting_chooses_the_engine_and_the_seed_keeps_its_keywords(
    seed_article: Article,
) -> None:
    assert Settings().enricher.keywords_engine == "newswire"
    package = enrich(seed_article, EnricherSettings(keywords_engine="yake"))
    ours = enrich(seed_article, EnricherSettings())
    assert ours.keywords == package.keywords and len(ours.keywords) == 10


def test_nothing_to_find() -> None:
    assert yakescore.keywords("", "en", n=2, top=5) == []
    assert yakescore.keywords("... !!! ,,,", "en", n=2, top=5) == []
    # Only stopwords: the package finds no keyword either.
    assert yakescore.keywords("the and of it", "en", n=2, top=5) == (
        yake.KeywordExtractor(lan="en", n=2, top=5).extract_keywords("the and of it")
    )


PAIRS = [
    ("gaza strip", "gaza strip"),
    ("gaza city", "gaza cit y"),
    ("hamas", "hams"),
    ("organisation", "organization"),
    ("prime minister", "prime ministers"),
    ("ismail haniyeh", "haniyeh ismail"),
    ("us", "usa"),
    ("", "a"),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_the_package_deduplication_similarity(a: str, b: str) -> None:
    package = yake.KeywordExtractor()
    assert yakescore.similarity(a, b) == package.seqm(a, b) == yakescore.similarity(b, a)


def test_a_near_copy_of_a_chosen_keyword_is_left_out() -> None:
    found = [k for k, _ in yakescore.keywords(JAPAN, "en", n=2, top=20)]
    assert "Japan" in found
    everything = yakescore.keywords(JAPAN, "en", n=2, top=20, dedup=lambda a, b: 0.0)
    assert len(everything) == 20
    close = [k for k, _ in yakescore.keywords(JAPAN, "en", n=2, top=20, dedup=lambda a, b: 1.0)]
    assert close == [everything[0][0]]  # everything is a copy of the first
