"""Page bodies to text (common.charset): a byte order mark, then the header, then <meta>."""

from __future__ import annotations

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
