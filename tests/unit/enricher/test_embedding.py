from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from services.common.models import Article, Enriched
from services.common.settings import EnricherSettings
from services.enricher import embedding
from services.enricher.embedding import DEFAULT_MODEL, DIMENSION, PACKAGED, PackagedModel
from services.enricher.pipeline import enrich
from tests.conftest import validate_record

# Pairs of reports of one event in different words, on four unrelated events.
PARAPHRASES = [
    (
        "Israeli and Hamas negotiators met in Cairo on Tuesday to discuss a ceasefire in Gaza.",
        "Talks on a Gaza truce between Hamas and Israel resumed in the Egyptian capital.",
    ),
    (
        "The central bank raised interest rates by a quarter point to fight inflation.",
        "Policymakers lifted borrowing costs by 25 basis points as prices kept climbing.",
    ),
    (
        "A magnitude 6.8 earthquake struck off the coast of Japan, shaking buildings in Tokyo.",
        "A strong quake hit waters near Japan on Monday and was felt across the capital.",
    ),
    (
        "The home side won the cup final 2-1 after a late goal in extra time.",
        "A goal in the dying minutes of extra time gave the hosts a 2-1 victory in the final.",
    ),
]


def embed(text: str) -> np.ndarray:
    return embedding.embedder(DEFAULT_MODEL, None, 128).embed(text)


def test_paraphrases_are_closer_than_unrelated_reports() -> None:
    vectors = [(embed(a), embed(b)) for a, b in PARAPHRASES]
    same = [float(a @ b) for a, b in vectors]
    for i, (a, b) in enumerate(vectors):
        others = [
            float(x @ v) for x in (a, b) for j, pair in enumerate(vectors) if j != i for v in pair
        ]
        # Even the paraphrase with no content word in common (the rates pair) wins clearly.
        assert same[i] > max(others) + 0.15, PARAPHRASES[i]
    assert np.mean(same) > 0.5


def test_vector_is_unit_length_with_the_model_dimension() -> None:
    v = embed(PARAPHRASES[0][0])
    assert v.shape == (DIMENSION,) and v.dtype == np.float32
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


def test_tokens_past_the_limit_do_not_change_the_vector() -> None:
    model = embedding.embedder(DEFAULT_MODEL, None, 16)
    words = " ".join(["ceasefire"] * 40)
    assert np.allclose(model.embed(words), model.embed(words + " bananas and apples"))


def test_embedding_is_the_same_from_concurrent_threads() -> None:
    texts = [a for a, _ in PARAPHRASES] * 4
    alone = [embed(t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(embed, texts))
    assert all(np.array_equal(x, y) for x, y in zip(alone, together, strict=True))


def test_seed_article_gets_its_embedding(enriched_seed: Enriched) -> None:
    out = enriched_seed
    assert out.embedding_model == DEFAULT_MODEL
    assert out.embedding is not None and len(out.embedding) == DIMENSION
    assert abs(float(np.linalg.norm(out.embedding)) - 1.0) < 1e-4
    assert "embedding" not in out.enrichment_errors
    # The seed is about Gaza ceasefire talks in Cairo, not interest rates.
    vector = np.array(out.embedding)
    assert vector @ embed(PARAPHRASES[0][1]) > vector @ embed(PARAPHRASES[1][1]) + 0.2
    validate_record("newswire.enriched", json.loads(out.model_dump_json()))


def test_headline_and_lead_only() -> None:
    assert embedding.article_text(" Storm hits ", "Rain fell all night.", 4) == "Storm hits\nRain"
    assert embedding.article_text(None, "  ", 100) == ""


def test_article_with_nothing_to_embed_is_skipped() -> None:
    out = enrich(
        Article(id="e1", url="", text="", paragraphs=[]),
        EnricherSettings(enrichers="stats,embedding"),
    )
    assert out.embedding is None and "embedding" in out.enrichment_skipped
    assert out.enrichment_errors == {}


@pytest.mark.parametrize(
    "case",
    ["empty folder", "broken model file", "unknown model", "package missing", "wrong weights"],
)
def test_missing_model_is_an_error_and_the_article_goes_on(
    case: str, article: Article, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = EnricherSettings(enrichers="language,stats,embedding")
    if case == "empty folder":
        settings = EnricherSettings(enrichers=settings.enrichers, embedding_model_dir=tmp_path)
        reason = "no model.onnx"
    elif case == "broken model file":
        _, tokenizer = embedding.model_files(DEFAULT_MODEL, None)
        shutil.copy(tokenizer, tmp_path / "tokenizer.json")
        (tmp_path / "model.onnx").write_bytes(b"not an onnx model")
        settings = EnricherSettings(enrichers=settings.enrichers, embedding_model_dir=tmp_path)
        reason = "cannot load embedding model"
    elif case == "unknown model":
        settings = EnricherSettings(enrichers=settings.enrichers, embedding_model="e5-huge")
        reason = "unknown embedding model 'e5-huge'"
    elif case == "package missing":
        known = PACKAGED[DEFAULT_MODEL]
        spec = PackagedModel(
            ("no-such-dist", "x.onnx"), known.tokenizer, "0", known.tokenizer_sha256
        )
        monkeypatch.setitem(PACKAGED, "gone", spec)
        settings = EnricherSettings(enrichers=settings.enrichers, embedding_model="gone")
        reason = "'no-such-dist' is not installed"
    else:
        spec = PACKAGED[DEFAULT_MODEL]
        changed = PackagedModel(spec.model, spec.tokenizer, "0" * 64, spec.tokenizer_sha256)
        monkeypatch.setitem(PACKAGED, "other", changed)
        settings = EnricherSettings(enrichers=settings.enrichers, embedding_model="other")
        reason = "model's file (missing or changed)"
    out = enrich(article, settings)
    assert out.embedding is None and out.embedding_model is None
    assert reason in out.enrichment_errors["embedding"]
    assert out.language == "en" and out.word_count > 0
