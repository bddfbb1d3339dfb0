"""The text a reader sees in an HTML fragment (a feed's content or summary), one line per
block. Pure and forgiving: regular expressions, no parser, so any fragment gives text."""

from __future__ import annotations

import html
import re

_BLOCK = re.compile(
    r"</?(?:p|div|br|li|ul|ol|dl|dt|dd|h[1-6]|blockquote|pre|section|article|aside|header"
    r"|footer|figure|figcaption|table|tr|hr)\b[^>]*>",
    re.IGNORECASE,
)
_SKIP = re.compile(r"<(script|style|template)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_LINES = re.compile(r"\s*\n\s*")


def visible_text(markup: str | None) -> str:
    """Tags out (script and style with their content), one line per block element,
    entities decoded (after the tags are gone, so "&lt;b&gt;" stays text), spaces collapsed."""
    if not markup:
        return ""
    text = _COMMENT.sub(" ", markup)
    text = _SKIP.sub(" ", text)
    text = _BLOCK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    text = _SPACES.sub(" ", text)
    return _LINES.sub("\n", text).strip()


def visible_lines(markup: str | None) -> list[str]:
    """`visible_text`'s lines, none empty."""
    return [line for line in visible_text(markup).split("\n") if line.strip()]
