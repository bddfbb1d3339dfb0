"""The gazetteer's names and labels (countries, NORP groups) in the entities of an article."""

from __future__ import annotations

from services.common.models import Article
from services.common.settings import EnricherSettings
from services.enricher.pipeline import enrich


def test_gazetteer_names_and_labels() -> None:
    text = "Officials in Cyprus met Houthi envoys, and Kurdish leaders flew to Malta."
    out = enrich(Article(id="g", url="", text=text, paragraphs=[text]), EnricherSettings())
    found = {(e.text, e.label) for e in out.entities}
    assert {("Cyprus", "GPE"), ("Houthi", "NORP"), ("Kurdish", "NORP"), ("Malta", "GPE")} <= found
