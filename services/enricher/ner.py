"""Named entities from spaCy, with a rule layer for the names the small model misses.

Only the NER component runs: in the small English pipeline it has its own
token-to-vector layer, so the tagger and parser (half the cost) are not needed.
Each pipeline is loaded once per process and kept (a worker enriches many articles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.enricher import gazetteer
from services.enricher.loaded import Loaded

# What the enricher reports; dates, numbers and the like are not names.
KEPT_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})
# Components the entity recogniser does not depend on.
UNUSED_COMPONENTS = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


@dataclass(frozen=True)
class RawMention:
    text: str
    label: str
    start: int
    end: int


def _ruler_patterns() -> list[dict[str, Any]]:
    patterns: list[dict[str, Any]] = [
        {"label": "GPE", "pattern": name} for name in gazetteer.country_names()
    ]
    patterns += [{"label": "NORP", "pattern": name} for name in gazetteer.demonyms()]
    return patterns


def _load(model: str) -> Any:
    import spacy

    nlp = spacy.load(model, exclude=UNUSED_COMPONENTS)
    # After the model, without overwriting: the rules only fill its gaps
    # (a country or group it did not tag at all), never relabel what it found.
    ruler: Any = nlp.add_pipe("entity_ruler", after="ner", config={"overwrite_ents": False})
    ruler.add_patterns(_ruler_patterns())
    return nlp


_pipelines: Loaded[str, Any] = Loaded("NER pipeline", _load)


def pipeline(model: str) -> Any:
    """The spaCy pipeline `model` (an installed package), loaded on first use."""
    return _pipelines.get(model)


def load_seconds() -> dict[str, float]:
    return dict(_pipelines.seconds)


def recognise(text: str, model: str) -> list[RawMention]:
    """Names in `text` with character offsets, in order of appearance."""
    doc = pipeline(model)(text)
    return [
        RawMention(ent.text, ent.label_, ent.start_char, ent.end_char)
        for ent in doc.ents
        if ent.label_ in KEPT_LABELS
    ]
