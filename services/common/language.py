"""Language identification on the body text (py3langid, model bundled, offline)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

MIN_CHARS = 20


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> tuple[str | None, float | None]:
    """(ISO 639-1 code, confidence 0..1), or (None, None) for text too short to tell."""
    if len(text.strip()) < MIN_CHARS:
        return None, None
    lang, prob = _identifier().classify(text)
    return str(lang), round(float(prob), 4)
