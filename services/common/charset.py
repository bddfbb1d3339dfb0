"""Turn a page body into text: a BOM, else the header's charset, else the document's own
declaration (<meta charset>, or an XHTML page's <?xml encoding?>), else UTF-8.

Shared by the fetcher (pages off the wire) and `newswire extract` (pages from files).
"""

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
XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w\-:.]+)""", re.IGNORECASE)


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
    for declared in (XML_ENCODING.match(body[:1024]), META_CHARSET.search(body[:4096])):
        found = _known(declared.group(1).decode("ascii", "ignore")) if declared else None
        if found:
            return found
    return "utf-8"


def decode_body(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """(text, charset used). Undecodable bytes become U+FFFD rather than failing the page."""
    charset = sniff_charset(body, header_charset)
    text = body.decode(charset, errors="replace")
    return text.lstrip("\ufeff"), charset
