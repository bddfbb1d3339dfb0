"""Named entities from spaCy, with a rule layer for the names the small model misses.

Only the NER component runs: in the small English pipeline it has its own
token-to-vector layer, so the tagger and parser (half the cost) are not needed.
Each pipeline is loaded once per process and kept (a worker enriches many articles).

Its matrix products run on numpy's OpenBLAS (one thread, see `blas`) rather than
thinc's default BLIS: on this project's AMD EPYC (AVX-512) BLIS's kernels reach a
third of OpenBLAS's speed on the recogniser's shapes, and NER took a third less CPU
with the same entities on every benchmark article (`make bench-enricher`, which runs
both). `matmul="blis"` keeps thinc's default.
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


def _use_numpy_blas(nlp: Any) -> None:
    from thinc.api import NumpyOps

    from services.enricher import blas

    blas.limit_threads(1)
    ops = NumpyOps(use_blis=False)
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if model is not None:
            # Layers take their ops when built; the loaded weights stay as they are.
            for node in model.walk():
                node.ops = ops


def _load(key: tuple[str, str]) -> Any:
    import spacy

    model, matmul = key
    nlp = spacy.load(model, exclude=UNUSED_COMPONENTS)
    if matmul == "numpy":
        _use_numpy_blas(nlp)
    # After the model, without overwriting: the rules only fill its gaps
    # (a country or group it did not tag at all), never relabel what it found.
    ruler: Any = nlp.add_pipe("entity_ruler", after="ner", config={"overwrite_ents": False})
    ruler.add_patterns(_ruler_patterns())
    return nlp


_pipelines: Loaded[tuple[str, str], Any] = Loaded("NER pipeline", _load)

MATMULS = ("numpy", "blis")


def pipeline(model: str, matmul: str = "numpy") -> Any:
    """The spaCy pipeline `model` (an installed package), loaded on first use; `matmul`:
    whose BLAS its layers use, "numpy" (OpenBLAS) or "blis" (thinc's default)."""
    if matmul not in MATMULS:
        raise ValueError(f"unknown matmul {matmul!r}; known: {MATMULS}")
    return _pipelines.get((model, matmul))


def load_seconds() -> dict[str, float]:
    return {
        model if matmul == "numpy" else f"{model} ({matmul})": s
        for (model, matmul), s in _pipelines.seconds.items()
    }


def recognise(text: str, model: str, matmul: str = "numpy") -> list[RawMention]:
    """Names in `text` with character offsets, in order of appearance."""
    doc = pipeline(model, matmul)(text)
    return [
        RawMention(ent.text, ent.label_, ent.start_char, ent.end_char)
        for ent in doc.ents
        if ent.label_ in KEPT_LABELS
    ]
