"""The article body as Markdown: trafilatura's structured output, filtered like the plain text."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from trafilatura.xml import xmltotxt

from services.cleaner.metadata import normalise

_BLOCK_MARKER = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s?)+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def render(body: Any) -> str:
    """trafilatura's XML body as Markdown: `##` headings, `- ` items, tables, emphasis."""
    return str(xmltotxt(body, include_formatting=True) or "").strip()


def line_key(line: str) -> str:
    """What a Markdown line and its plain-text counterpart have in common: their words."""
    return normalise(_BLOCK_MARKER.sub("", line))


def drop_removed(markdown: str, before: list[str], after: list[str]) -> str:
    """`markdown` without the lines that were removed going from plain `before` to `after`.

    Cruft rules, headline and byline removal and site templates all work on plain
    lines; the Markdown follows them by matching lines on their words, first ones first.
    """
    removed = Counter(map(line_key, before)) - Counter(map(line_key, after))
    if not removed:
        return markdown
    kept = []
    for line in markdown.split("\n"):
        key = line_key(line)
        if key and removed[key] > 0:
            removed[key] -= 1
            continue
        kept.append(line)
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()
