"""Page bodies to text (common.charset): a byte order mark, then the header, then <meta>."""

from __future__ import annotations

import codecs

import pytest

from services.common.charset import decode_body


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ("café".encode("latin-1"), "iso-8859-1", "café"),
        (b"\xef\xbb\xbfcaf\xc3\xa9", "iso-8859-1", "café"),  # BOM beats the header
        ('<meta charset="windows-1252"><p>caf\xe9</p>'.encode("latin-1"), None, "café"),
        (b"caf\xc3\xa9", None, "café"),
    ],
)
def test_charset(body: bytes, header: str | None, expected: str) -> None:
    assert expected in decode_body(body, header)[0]


def test_declared_charsets_decode_the_body() -> None:
    text = "Le maire a déclaré « très sérieux » après le vote sur le budget du port."
    page = f'<html><head><meta charset="windows-1252"></head><body><p>{text}</p></body></html>'
    assert decode_body(page.encode("cp1252"), None)[0] == page
    xml = f'<?xml version="1.0" encoding="iso-8859-1"?><html><body><p>{text}</p></body></html>'
    # Browsers read an ISO-8859-1 label as windows-1252, its superset.
    assert decode_body(xml.encode("latin-1"), None) == (xml, "cp1252")
    japanese = "港の予算案について市長は「非常に深刻だ」と述べた。"
    sjis = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
    sjis += f"</head><body><p>{japanese}</p></body></html>"
    assert japanese in decode_body(sjis.encode("shift_jis"), None)[0]
    # A header's charset wins over the page's own declaration, a BOM over both.
    assert decode_body(page.encode("utf-8"), "utf-8")[0] == page
    assert decode_body(b"\xef\xbb\xbf" + page.encode("utf-8"), "latin-1")[0] == page


def _meta_page(charset: str, text: str) -> str:
    return f'<html><head><meta charset="{charset}"></head><body><p>{text}</p></body></html>'


@pytest.mark.parametrize(
    ("label", "text", "body_codec", "used"),
    [
        # 0x93 0x94 0x97 are curly quotes and an em dash, not C1 controls.
        ("ISO-8859-1", "“Quoted” — said", "cp1252", "cp1252"),
        ("latin1", "“Quoted” — said", "cp1252", "cp1252"),
        ("us-ascii", "“Quoted” — said", "cp1252", "cp1252"),
        ("latin-1", "“Quoted” — said", "cp1252", "cp1252"),  # Python's spelling, folded
        # 镕 is GBK, not GB2312; ①㈱ are Windows-31J, not Shift_JIS; 똠 is UHC, not EUC-KR.
        ("gb2312", "朱镕基总理", "gbk", "gb18030"),
        ("x-gbk", "朱镕基总理", "gbk", "gb18030"),
        ("shift_jis", "①㈱の予算", "cp932", "cp932"),
        ("x-sjis", "①㈱の予算", "cp932", "cp932"),
        ("euc-kr", "똠방각하", "cp949", "cp949"),
        ("ks_c_5601-1987", "똠방각하", "cp949", "cp949"),
        # 0x80 is the euro sign in windows-1254 and windows-874, a C1 control in ISO-8859-9.
        ("iso-8859-9", "€ 5 için ğ", "cp1254", "cp1254"),
        ("tis-620", "€ ภาษาไทย…", "cp874", "cp874"),
        ("iso-8859-11", "€ ภาษาไทย…", "cp874", "cp874"),
        # Pages that were right before stay right.
        ("utf-8", "Déjà vu — “ok” ✓ 港", "utf-8", "utf-8"),
        ("windows-1251", "Мэр заявил: «бюджет порта»", "cp1251", "cp1251"),
        ("cp1251", "Мэр заявил: «бюджет порта»", "cp1251", "cp1251"),
    ],
)
def test_charset_labels_mean_what_browsers_read(
    label: str, text: str, body_codec: str, used: str
) -> None:
    page = _meta_page(label, text)
    assert decode_body(page.encode(body_codec), None) == (page, used)  # from <meta>
    assert decode_body(page.encode(body_codec), label) == (page, used)  # from the header


def test_a_meta_naming_utf16_means_utf8() -> None:
    # The <meta> could be read as ASCII, so the page is not UTF-16 (HTML standard).
    for label in ("utf-16", "UTF-16LE", "utf-16be"):
        page = _meta_page(label, "Le café — “déjà”")
        assert decode_body(page.encode("utf-8"), None) == (page, "utf-8"), label
    # A header naming UTF-16 is still believed, a BOM more so.
    text = "<p>Le café</p>"
    assert decode_body(text.encode("utf-16-le"), "utf-16") == (text, "utf-16-le")
    assert decode_body(codecs.BOM_UTF8 + text.encode(), "utf-16") == (text, "utf-8")


@pytest.mark.parametrize("label", ["base64", "undefined", "idna", "utf-32", "no-such-charset"])
def test_labels_that_are_no_browser_charset_are_ignored(label: str) -> None:
    # Python has codecs for some of these that fail, or garble, a page's decode.
    page = _meta_page(label, "Le café")
    assert decode_body(page.encode("utf-8"), None) == (page, "utf-8")
    assert decode_body(page.encode("utf-8"), label + "\x00") == (page, "utf-8")
