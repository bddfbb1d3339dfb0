from __future__ import annotations

import pytest

from services.cleaner.extract import extract_plain
from services.common.models import Article, Enriched
from services.common.settings import Settings
from services.enricher.pipeline import enrich


@pytest.fixture(scope="session")
def seed_article() -> Article:
    from tests.conftest import SEED_TXT

    ext = extract_plain(SEED_TXT.read_text())
    return Article(
        id="a1",
        url="http://example.com/a",
        title=ext.title,
        byline=ext.byline,
        text="\n\n".join(ext.paragraphs),
        paragraphs=ext.paragraphs,
    )


@pytest.fixture
def article(seed_article: Article) -> Article:
    return seed_article.model_copy()


@pytest.fixture(scope="session")
def enriched_seed(seed_article: Article) -> Enriched:
    """The seed through every default enricher (models load once for the whole session)."""
    return enrich(seed_article, Settings())
