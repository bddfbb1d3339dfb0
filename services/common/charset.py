"""Turn a page body into text: a BOM, else the header's charset, else the document's own
declaration (<meta charset>, or an XHTML page's <?xml encoding?>), else UTF-8.

Labels are read the way browsers read them (WHATWG Encoding Standard), because pages are
written and checked in browsers: "iso-8859-1" means windows-1252, "gb2312" means GBK
(decoded as its superset gb18030), "shift_jis" means Windows-31J (cp932), and so on.

Shared by the fetcher (pages off the wire) and `newswire extract` (pages from files).

The label table is our own, not w3lib's `resolve_encoding`/`html_to_unicode` (2.5.0): on the
unit tests' cases and the 228 labels of the WHATWG table (`python -m
services.devtools.libcompare`), w3lib fails 82 of the 277 that matter. It knows labels by
Python's codec names, so 67 WHATWG labels mean nothing to it (x-gbk, x-mac-cyrillic,
unicode-1-1-utf-8, iso-8859-8-i, dos-874, windows-949, ucs-2, ...) and `utf-16` without a
BOM is read big-endian where browsers read it little-endian; it believes a `<meta>` naming
UTF-16, turning a UTF-8 page into CJK noise (the HTML standard reads it as UTF-8); and it
takes any codec Python has, so `<meta charset="base64">` (or `idna`, `undefined`) raises
instead of decoding the page, and `utf-32` garbles it.
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

# The WHATWG Encoding Standard's label table (https://encoding.spec.whatwg.org/#names-and-labels),
# keyed by the Python codec that decodes each encoding as browsers do. Where browsers use a
# vendor superset of the named charset, so does the codec: windows-1252 for Latin-1 and ASCII
# (0x80-0x9F are curly quotes and dashes, not C1 controls), gb18030 for GBK, cp932 for
# Shift_JIS, cp949 for EUC-KR, big5hkscs for Big5.
_WHATWG_LABELS = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "cp866": "866 cp866 csibm866 ibm866",
    "iso8859-2": "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 "
    "iso_8859-2:1987 l2 latin2",
    "iso8859-3": "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 "
    "iso_8859-3:1988 l3 latin3",
    "iso8859-4": "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 "
    "iso_8859-4:1988 l4 latin4",
    "iso8859-5": "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 "
    "iso_8859-5 iso_8859-5:1988",
    "iso8859-6": "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 "
    "iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987",
    "iso8859-7": "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 "
    "iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    # ISO-8859-8-I differs from ISO-8859-8 only in text direction, not in bytes.
    "iso8859-8": "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 "
    "iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual csiso88598i iso-8859-8-i logical",
    "iso8859-10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "iso8859-13": "iso-8859-13 iso8859-13 iso885913",
    "iso8859-14": "iso-8859-14 iso8859-14 iso885914",
    "iso8859-15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "iso8859-16": "iso-8859-16",
    "koi8-r": "cskoi8r koi koi8 koi8-r koi8_r",
    "koi8-u": "koi8-ru koi8-u",
    "mac-roman": "csmacintosh mac macintosh x-mac-roman",
    "cp874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "cp1250": "cp1250 windows-1250 x-cp1250",
    "cp1251": "cp1251 windows-1251 x-cp1251",
    "cp1252": "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 "
    "iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252",
    "cp1253": "cp1253 windows-1253 x-cp1253",
    "cp1254": "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
    "iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254",
    "cp1255": "cp1255 windows-1255 x-cp1255",
    "cp1256": "cp1256 windows-1256 x-cp1256",
    "cp1257": "cp1257 windows-1257 x-cp1257",
    "cp1258": "cp1258 windows-1258 x-cp1258",
    "mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "gb18030": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk "
    "gb18030",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc_jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso2022_jp": "csiso2022jp iso-2022-jp",
    "cp932": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "cp949": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 "
    "ksc5601 ksc_5601 windows-949",
    # Browsers decode these to a single U+FFFD (so no script can hide in their escapes); a text
    # extractor is better served by the real codec.
    "hz": "hz-gb-2312",
    "iso2022_kr": "csiso2022kr iso-2022-kr",
    "utf-16-be": "unicodefffe utf-16be",
    "utf-16-le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
}
# codecs.lookup both checks each codec exists and gives the names Python reports for them.
LABELS = {
    label: codecs.lookup(codec).name
    for codec, labels in _WHATWG_LABELS.items()
    for label in labels.split()
}
_CODECS = frozenset(LABELS.values())
# A document whose declaration could be read as ASCII is not UTF-16, whatever it says: the
# HTML standard has a <meta> naming UTF-16 mean UTF-8.
_UTF16 = frozenset({"utf-16-le", "utf-16-be"})
_ASCII_WHITESPACE = "\t\n\f\r "


def _python_alias(label: str) -> str | None:
    """A label only Python knows (such as "latin-1"), folded onto the browser's codec for it.

    Anything that does not fold onto a codec of the table is refused: Python also has codecs
    that are no charset ("base64", "undefined", "idna") and fail or garble a page's decode.
    """
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None
    folded = LABELS.get(name) or LABELS.get(name.replace("_", "-"))
    return folded or (name if name in _CODECS else None)


def whatwg_codec(label: str | None) -> str | None:
    """The Python codec a browser would decode a `label` page with; None for no known charset."""
    if not label:
        return None
    key = label.strip(_ASCII_WHITESPACE).lower()
    return LABELS.get(key) or _python_alias(key)


def _declared(body: bytes) -> str | None:
    """The charset the document declares for itself, if it names one we know."""
    for declared in (XML_ENCODING.match(body[:1024]), META_CHARSET.search(body[:4096])):
        found = whatwg_codec(declared.group(1).decode("ascii", "ignore")) if declared else None
        if found:
            return "utf-8" if found in _UTF16 else found
    return None


def sniff_charset(body: bytes, header_charset: str | None) -> str:
    for bom, name in BOMS:
        if body.startswith(bom):
            return name  # a BOM beats a header that is very often wrong
    return whatwg_codec(header_charset) or _declared(body) or "utf-8"


def decode_body(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """(text, charset used). Undecodable bytes become U+FFFD rather than failing the page."""
    charset = sniff_charset(body, header_charset)
    text = body.decode(charset, errors="replace")
    return text.lstrip("\ufeff"), charset
