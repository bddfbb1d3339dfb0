"""A page's declared language, as a lower-case ISO 639 code, from whatever form it took.

Declarations come as BCP 47 tags ("es-ES"), locales ("es_ES"), lists ("de, ch, at"),
three-letter codes ("ger") and names ("Deutsch", "italiano (italian)", "deutsch,
german" in a JSON-LD inLanguage). A value that names no language ("x-default",
"und", a sentence) is no declaration rather than a wrong one.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"[a-z]{2,3}")
# Codes that say "no particular language".
_NONE = frozenset({"und", "mul", "zxx", "mis"})
# ISO 639-2 codes and names of the languages the pipeline mostly sees.
_ALIASES = {
    "eng": "en",
    "english": "en",
    "ger": "de",
    "deu": "de",
    "german": "de",
    "deutsch": "de",
    "spa": "es",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "castellano": "es",
    "fre": "fr",
    "fra": "fr",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "ita": "it",
    "italian": "it",
    "italiano": "it",
    "por": "pt",
    "portuguese": "pt",
    "português": "pt",
    "dut": "nl",
    "nld": "nl",
    "dutch": "nl",
    "nederlands": "nl",
}


def language_code(value: str | None) -> str | None:
    """The language `value` declares, as a 2- or 3-letter code; None when it names none."""
    if not value:
        return None
    # A list names the main language first ("de, ch, at, en").
    first = re.split(r"[,;]", value.strip().lower(), maxsplit=1)[0].strip()
    word = re.split(r"[\s(/]", first, maxsplit=1)[0]
    if word in _ALIASES:
        return _ALIASES[word]
    code = word.replace("_", "-").split("-")[0]
    if code in _ALIASES:
        return _ALIASES[code]
    # A code stands alone: "the" of a sentence is no code.
    if word == first and _CODE.fullmatch(code) and code not in _NONE:
        return code
    return None
