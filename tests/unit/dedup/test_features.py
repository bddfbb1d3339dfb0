"""Story features: capitalised entities, terms, the enricher's entities."""

from __future__ import annotations

from services.dedup.cluster import story_features
from services.dedup.features import capitalised_entities, terms


def test_features_heuristic() -> None:
    text = "Tara Reid checked into Promises Treatment Center. Reid is 33. The actress left."
    found = capitalised_entities(text)
    assert found["tara reid"] == 1 and found["reid"] == 2
    assert "the" not in found and "promise treatment center" in found
    assert terms("The rehabs, the parties!")["rehab"] == 1
    assert story_features("body", entities=["Lindsay Lohan"])["e:lindsay lohan"] == 1
