"""Seed inputs for `make fuzz`, from the repository's own files only.

`seeds/` (the sample feeds, the seed page and its text), the string and bytes literals of
the unit tests that look like feeds, pages or records, the enricher's test articles, and
records of every topic built from those by the pipeline's own code. An optional extra
folder (a dataset, say) adds its files as they are; the runner works without one.
"""

from __future__ import annotations

import ast
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from services.devtools.fuzztargets import FEED_URL, PAGE_URL

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
TESTS = ROOT / "tests" / "unit"
# Literals shorter than this in the tests are names and URLs, not documents.
MIN_LITERAL = 40

FEED_MARKS = (
    b"<rss",
    b"<feed",
    b"<rdf:RDF",
    b"<urlset",
    b"<sitemapindex",
    b"<channel",
    b"jsonfeed",
)
PAGE_MARKS = (b"<html", b"<body", b"<article", b"<p>", b"<div", b"<meta")

SMALL_FEEDS: tuple[bytes, ...] = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>30</ttl>'
    b"<item><title>A</title><link>/a</link><guid>g1</guid><pubDate>Sun, 07 Dec 2025 "
    b"10:00:00 GMT</pubDate><description>&lt;b&gt;x&lt;/b&gt;</description></item>"
    b"</channel></rss>",
    b'<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">F</title><entry>'
    b'<id>urn:1</id><title>E</title><link rel="alternate" href="http://e.example/1"/>'
    b"<updated>2025-12-07T10:00:00Z</updated><author><name>N</name></author>"
    b'<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">s</div></summary>'
    b"</entry></feed>",
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b'<channel rdf:about="x"><title>R</title></channel><item rdf:about="http://r.example/1">'
    b"<title>I</title><link>http://r.example/1</link><dc:date>2025-12-07</dc:date></item>"
    b"</rdf:RDF>",
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{"id": "1", '
    b'"url": "http://j.example/1", "title": "T", "content_html": "<p>x</p>", '
    b'"date_published": "2025-12-07T10:00:00Z", "authors": [{"name": "A"}]}]}',
    b'<?xml version="1.0" encoding="UTF-8"?><urlset '
    b'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
    b"<loc>http://s.example/a</loc><lastmod>2025-12-07</lastmod><news:news><news:publication>"
    b"<news:name>P</news:name><news:language>en</news:language></news:publication>"
    b"<news:publication_date>2025-12-07T10:00:00+01:00</news:publication_date>"
    b"<news:title>N</news:title></news:news></url></urlset>",
    b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
    b"<loc>/s1.xml.gz</loc><lastmod>2025-12-07</lastmod></sitemap></sitemapindex>",
)


def _literals(path: Path) -> Iterator[bytes]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            value = (
                node.value
                if isinstance(node.value, bytes)
                else node.value.encode("utf-8", "surrogatepass")
            )
            if len(value) >= MIN_LITERAL:
                yield value


def literals_in_tests(marks: tuple[bytes, ...]) -> list[bytes]:
    """String and bytes literals of the unit tests that contain one of `marks`."""
    found: dict[bytes, None] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        if "fuzz" in path.parts:
            continue  # our own regression inputs are replayed, not mutated
        for value in _literals(path):
            if any(mark in value for mark in marks):
                found[value] = None
    return list(found)


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.rglob("*")) if p.suffix in suffixes]


def feed_seeds() -> list[bytes]:
    feeds = [*_files(SEEDS / "feeds", (".xml",)), *SMALL_FEEDS, *literals_in_tests(FEED_MARKS)]
    # A gzipped sitemap, as a .xml.gz served without Content-Encoding.
    return [*feeds, gzip.compress(SMALL_FEEDS[4], mtime=0)]


def page_seeds() -> list[bytes]:
    return [
        *_files(SEEDS / "site", (".html",)),
        *_files(SEEDS, (".txt",)),
        *literals_in_tests(PAGE_MARKS),
    ]


def charset_seeds() -> list[bytes]:
    headers = (
        b"text/html",
        b"text/html; charset=utf-8",
        b'text/html; charset="shift_jis"',
        b"application/xhtml+xml; charset=utf-16",
        b"text/plain;charset=iso-8859-1",
        b"image/png",
    )
    pages = page_seeds()[:8]
    small = b'<html><head><meta charset="koi8-r"><title>\xf4</title></head><body>\xe1</body></html>'
    return [h + b"\n" + body for h in headers for body in (*pages, small)]


def article_records() -> list[dict[str, object]]:
    """newswire.articles records: the enricher's test articles and the seed pages cleaned."""
    from services.cleaner.extract import extract_html, extract_plain

    records: list[dict[str, object]] = []
    path = TESTS / "enricher" / "data" / "articles.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            text = item["text"]
            records.append({"url": PAGE_URL, "paragraphs": text.split("\n\n"), **item})
    for i, body in enumerate(_files(SEEDS, (".html", ".txt"))):
        text = body.decode("utf-8", "replace")
        ext = extract_html(text) if "<html" in text else extract_plain(text)
        records.append(
            {
                "id": f"seed{i}",
                "url": f"{PAGE_URL}/{i}",
                "title": ext.title,
                "text": ext.text,
                "paragraphs": ext.paragraphs,
                "byline": ext.byline,
                "authors": ext.authors,
            }
        )
    return records


def enriched_records() -> list[dict[str, object]]:
    """newswire.enriched records without the models: the enricher's fields hand-filled."""
    out = []
    for article in article_records():
        out.append(
            {
                **article,
                "language": "en",
                "language_confidence": 0.9,
                "word_count": 12,
                "published": "2025-12-07T10:00:00Z",
                "entities": [
                    {
                        "text": "Malta",
                        "label": "GPE",
                        "count": 2,
                        "mentions": [{"text": "Malta", "start": 0, "end": 5}],
                    }
                ],
                "places": [{"name": "Malta", "kind": "country", "country_code": "MT", "count": 1}],
                "keywords": [{"text": "storm", "score": 0.1}],
                "quotes": [
                    {"text": "We have never", "speaker": "Joseph Camilleri", "start": 1, "end": 14}
                ],
                "summary": [str(article["text"])[:80]],
                "trace": {"fetched_at": "2025-12-07T10:00:00Z", "stages": {}},
            }
        )
    return out


def dedup_records() -> list[bytes]:
    """Records of every dedup hop: enriched articles, what route makes of them, what ask
    makes of that, and the answers."""
    from services.dedup.config import DedupConfig
    from services.dedup.lookups import Lookups
    from services.dedup.pipeline import answer, route
    from services.devtools.fuzztargets import ask_any

    config = DedupConfig()
    out: list[bytes] = []
    for record in enriched_records():
        raw = json.dumps(record).encode()
        out.append(raw)
        for seq_out in route(raw, config):
            assert seq_out.value is not None
            out.append(seq_out.value)
            for asked in ask_any(seq_out.value, 3, 4):
                assert asked.value is not None
                out.append(asked.value)
                if asked.topic.endswith("lookups"):
                    out.extend(
                        o.value
                        for o in answer(asked.value, Lookups({}, {}, {}, {}, config))
                        if o.value is not None
                    )
    return out


def page_records() -> list[bytes]:
    from services.common.models import Entry, Page, encode

    entry = Entry(entry_id="e", feed_url=FEED_URL, link=PAGE_URL, title="T")
    return [
        encode(Page.direct("seed", entry, body.decode("utf-8", "replace"), ctype))
        for body in page_seeds()[:12]
        for ctype in ("text/html", "text/plain")
    ]


def seeds_for(target: str) -> list[bytes]:
    """The seed corpus of one target (see fuzztargets.TARGETS)."""
    if target == "feeds":
        return feed_seeds()
    if target == "charset":
        return charset_seeds()
    if target == "extraction":
        return page_seeds()
    if target == "cleaner-record":
        return page_records()
    if target == "enrichment":
        return [json.dumps(r).encode() for r in article_records()]
    if target == "dedup":
        return dedup_records()
    if target == "selftest":
        return [b"ok"]
    if target == "models":
        return [*dedup_records()[:20], *page_records()[:4]]
    raise KeyError(target)


def extra_seeds(folder: Path | None, limit: int = 2000, max_bytes: int = 1 << 20) -> list[bytes]:
    """Files of an optional corpus folder (a dataset's feeds or pages), up to `limit`."""
    if folder is None:
        return []
    out: list[bytes] = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.stat().st_size <= max_bytes:
            out.append(path.read_bytes())
            if len(out) >= limit:
                break
    return out
