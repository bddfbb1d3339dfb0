"""`newswire extract`: the cleaner's code on files, folders or stdin, one JSON line each."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from services.cleaner.pipeline import article_from, extraction
from services.cleaner.workers import shared_pool
from services.common.charset import decode_body
from services.common.errors import NewswireError
from services.common.models import Entry, Page
from services.common.settings import Settings
from services.common.urls import article_id

SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz", ".txt", ".txt.gz")
PROGRESS_ABOVE = 5


@dataclass(frozen=True)
class Document:
    source: str
    body: str
    content_type: str


def _content_type(name: str) -> str:
    base = name.removesuffix(".gz")
    if base.endswith(".txt"):
        return "text/plain"
    if base.endswith(".xhtml"):
        return "application/xhtml+xml"
    return "text/html"


def _read(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    # Files carry no Content-Type header: BOM, <meta charset> or <?xml encoding?>, else UTF-8.
    return decode_body(data, None)[0]


def expand(paths: Iterable[str]) -> list[str]:
    """Files as given, folders recursively (sorted), `-` for stdin."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw)
        if raw == "-" or path.is_file():
            out.append(raw)
        elif path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*")) if p.name.endswith(SUFFIXES))
        else:
            raise FileNotFoundError(raw)
    return out


def documents(sources: list[str], stdin: TextIO) -> Iterator[Document]:
    for source in sources:
        if source == "-":
            body = stdin.read()
            kind = "text/html" if "<" in body[:2048] else "text/plain"
            yield Document("-", body, kind)
        else:
            yield Document(source, _read(Path(source)), _content_type(source))


def extract_document(doc: Document, settings: Settings) -> dict[str, object]:
    """The same article record the cleaner agent produces, or an error record."""
    url = Path(doc.source).resolve().as_uri() if doc.source != "-" else "stdin:"
    entry = Entry(entry_id=doc.source, feed_url="file:", link=url)
    page = Page(
        article_id=article_id(url),
        url=url,
        final_url=url,
        status=200,
        content_type=doc.content_type,
        body=doc.body,
        body_bytes=len(doc.body),
        entry=entry,
    )
    # The agent's limits: the same worker pool, time limit and size limit.
    pool = shared_pool(settings.cleaner.workers)
    try:
        ext = pool.run_sync(
            extraction(page, settings.cleaner), timeout=settings.cleaner.timeout_seconds
        )
        record: dict[str, object] = article_from(page, ext).model_dump(mode="json")
    except NewswireError as exc:
        return {"source": doc.source, "error": {"reason": exc.reason, "message": str(exc)}}
    record["source"] = doc.source
    return record


def _progress(done: int, total: int, err: TextIO) -> None:
    width = 30
    filled = width * done // total
    err.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        err.write("\n")
    err.flush()


def run(
    paths: list[str],
    settings: Settings,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    stdin: TextIO = sys.stdin,
) -> int:
    """Print one JSON line per document; return how many failed."""
    sources = expand(paths)
    failed = 0
    for done, doc in enumerate(documents(sources, stdin), start=1):
        record = extract_document(doc, settings)
        failed += "error" in record
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        if len(sources) > PROGRESS_ABOVE:
            _progress(done, len(sources), err)
    return failed
