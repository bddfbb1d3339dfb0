"""Language tags, locales, lists and names read as one language code."""

from __future__ import annotations

import pytest

from services.cleaner.langtags import language_code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("es-ES", "es"),
        ("es_ES", "es"),
        ("ES", "es"),
        ("de, ch, at, en", "de"),
        ("Deutsch", "de"),
        ("deutsch, german", "de"),
        ("Spanish", "es"),
        ("Español", "es"),
        ("italiano (italian)", "it"),
        ("ger", "de"),
        ("zh-Hant", "zh"),
        ("x-default", None),
        ("und", None),
        ("", None),
        (None, None),
        ("the language of this site", None),
    ],
)
def test_language_code_reads_tags_locales_lists_and_names(value: str | None, code: str) -> None:
    assert language_code(value) == code
