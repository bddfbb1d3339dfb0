"""Turn a page body into text: charset from the header, else a BOM, else <meta>, else UTF-8."""

from __future__ import annotations

import codecs
import re

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w\-:.]+)""", re.IGNORECASE)


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def sniff_charset(body: bytes, header_charset: str | None) -> str:
    for bom, name in BOMS:
        if body.startswith(bom):
            return name  # a BOM beats a header that is very often wrong
    found = _known(header_charset)
    if found:
        return found
    match = META_CHARSET.search(body[:4096])
    if match:
        found = _known(match.group(1).decode("ascii", "ignore"))
        if found:
            return found
    return "utf-8"


def decode_body(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """(text, charset used). Undecodable bytes become U+FFFD rather than failing the page."""
    charset = sniff_charset(body, header_charset)
    text = body.decode(charset, errors="replace")
    return text.lstrip("\ufeff"), charset
