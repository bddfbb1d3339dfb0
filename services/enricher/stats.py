"""Word count and reading time."""

from __future__ import annotations

import math
import re

WORD = re.compile(r"\w+(?:['’\-]\w+)*")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


def reading_time_seconds(words: int, words_per_minute: int) -> int:
    return math.ceil(words * 60 / words_per_minute) if words else 0
