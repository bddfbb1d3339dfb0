from __future__ import annotations

import pytest

from services.common.models import Article, Enriched
from services.common.settings import EnricherSettings
from services.enricher.pipeline import enrich
from tests.conftest import seed_article


@pytest.fixture(scope="session", name="seed_article")
def seed_article_fixture() -> Article:
    return seed_article()


@pytest.fixture
def article(seed_article: Article) -> Article:
    return seed_article.model_copy()


@pytest.fixture(scope="session")
def enriched_seed(seed_article: Article) -> Enriched:
    """The seed through every default enricher (models load once for the whole session)."""
    return enrich(seed_article, EnricherSettings())
