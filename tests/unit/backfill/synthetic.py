"""Small synthetic news pages and WARC files of them, written with warcio directly (not
with services/common/warcarchive.py, so the reader is checked against another writer)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

TOPICS = (
    ("harbour", "The harbour authority approved new quay walls after a long debate"),
    ("railway", "Engineers finished the railway bridge two months ahead of schedule"),
    ("school", "The school board voted to extend the library's opening hours"),
    ("market", "Farmers at the weekly market reported record sales of apples"),
    ("storm", "A storm closed the coastal road and cut power to three villages"),
)


def article_html(n: int, run: str = "") -> str:
    """A news page whose article text is its own (n and run in every paragraph)."""
    topic, lead = TOPICS[n % len(TOPICS)]
    paragraphs = "".join(
        f"<p>{lead} in district {run}{n}, officials said on day {n}. Paragraph {i} of the "
        f"report on {topic} {run}{n} gives the figures, the names and the next steps "
        f"that the council of town {run}{n} agreed to in its evening session.</p>"
        for i in range(6)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{topic.title()} story {run}{n}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{topic.title()} story {run}{n}</h1>"
        f"{paragraphs}</article><footer>Contact us</footer></body></html>"
    )


@dataclass(frozen=True)
class Cap:
    url: str
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    date: str = "2026-11-07T10:00:00Z"
    kind: str = "response"
    extra_headers: tuple[tuple[str, str], ...] = ()


def write_warc(path: Path, captures: list[Cap], *, gzip: bool = True) -> Path:
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for cap in captures:
            headers = [("Content-Type", cap.content_type), *cap.extra_headers]
            headers.append(("Content-Length", str(len(cap.body))))
            http = StatusAndHeaders(f"{cap.status} X", headers, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                cap.url,
                cap.kind,
                payload=io.BytesIO(cap.body),
                http_headers=http if cap.kind == "response" else None,
                warc_headers_dict={"WARC-Date": cap.date},
            )
            writer.write_record(record)
    return path
