"""Micro-batches measured before they are built: is `nlp.pipe` over several articles, or
one ONNX call for several embeddings, cheaper per article than one at a time?

The agent would take a batch from the stream (`stream.take(n, within=...)`) only for a
real gain (over 10% of the enricher's CPU): it costs latency, and acknowledging a batch
record by record is more code to get right. `make bench-enricher` runs this on the
benchmark bodies; the answer so far is in docs/performance-enricher.md.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from services.enricher import ner
from services.enricher.embedding import Embedder, Vector


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _timed(run: Callable[[], list[Any]]) -> tuple[list[Any], float]:
    """run()'s result and the CPU milliseconds it took per item of that result."""
    started = time.process_time()
    result = run()
    ms = (time.process_time() - started) * 1000
    return result, ms / len(result) if result else 0.0


def ner_entities(texts: Sequence[str], model: str, matmul: str, batch: int) -> list[Any]:
    """Each text's (text, label, start, end) entities, `batch` texts per `nlp.pipe` call."""
    nlp = ner.pipeline(model, matmul)
    docs = nlp.pipe(texts, batch_size=batch) if batch > 1 else (nlp(t) for t in texts)
    return [[(e.text, e.label_, e.start_char, e.end_char) for e in d.ents] for d in docs]


def embed_batch(model: Embedder, texts: Sequence[str]) -> list[Vector]:
    """One ONNX call for all `texts`: padded to the longest, pooled over each one's mask."""
    # Reaches into the embedder: this path exists only to be measured.
    tokenizer, session, inputs = model._tokenizer, model._session, model._inputs
    encodings = [tokenizer.encode(t) for t in texts]
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(texts), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in inputs:
        feeds["token_type_ids"] = np.zeros_like(ids)
    output = np.asarray(session.run(None, feeds)[0], dtype=np.float32)
    if output.ndim == 3:
        weights = mask[..., None].astype(np.float32)
        output = (output * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(output, axis=1, keepdims=True)
    return list(output / np.where(norms > 0, norms, 1).astype(np.float32))


def _embed_all(model: Embedder, texts: Sequence[str], batch: int) -> list[Vector]:
    if batch == 1:
        return [model.embed(t) for t in texts]
    return [v for chunk in _chunks(texts, batch) for v in embed_batch(model, chunk)]


def measure(
    ner_texts: Sequence[str],
    embed_texts: Sequence[str],
    *,
    model: str,
    matmul: str,
    embedder: Embedder,
    sizes: Sequence[int],
    rounds: int = 3,
) -> dict[str, Any]:
    """CPU ms per article of NER and of the embedding at each batch size (the median of
    `rounds` passes, sizes in a rotating order: a shared machine's load moves meanwhile),
    the gain of each size over 1, and whether batching changed a result (entities; the
    largest change of a vector component)."""
    single_ents = ner_entities(ner_texts, model, matmul, 1)
    single_vecs = [embedder.embed(t) for t in embed_texts]
    ner_ms: dict[int, list[float]] = {size: [] for size in sizes}
    embed_ms: dict[int, list[float]] = {size: [] for size in sizes}
    same_entities: dict[int, int] = {}
    max_diff: dict[int, float] = {}
    for r in range(rounds):
        for size in [*sizes[r % len(sizes) :], *sizes[: r % len(sizes)]]:
            ents, ms = _timed(partial(ner_entities, ner_texts, model, matmul, size))
            ner_ms[size].append(ms)
            vecs, ms = _timed(partial(_embed_all, embedder, embed_texts, size))
            embed_ms[size].append(ms)
            same_entities[size] = sum(a == b for a, b in zip(single_ents, ents, strict=True))
            diffs = (np.abs(a - b).max() for a, b in zip(single_vecs, vecs, strict=True))
            max_diff[size] = float(max(diffs, default=0))
    out: dict[str, Any] = {"sizes": list(sizes), "rounds": rounds}
    for what, figures in (("ner", ner_ms), ("embedding", embed_ms)):
        medians = {size: statistics.median(v) for size, v in figures.items()}
        base = medians.get(1)
        out[f"{what}_cpu_ms"] = {size: round(ms, 2) for size, ms in medians.items()}
        out[f"{what}_cpu_ms_rounds"] = {s: [round(x, 2) for x in v] for s, v in figures.items()}
        out[f"{what}_gain"] = {
            size: round(1 - ms / base, 3) if base else None for size, ms in medians.items()
        }
    out["same_entities"] = same_entities
    out["embedding_max_abs_diff"] = {s: round(d, 6) for s, d in max_diff.items()}
    return out
