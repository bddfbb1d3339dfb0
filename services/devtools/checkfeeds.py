"""Run the real fetcher over a corpus of feed files served from 127.0.0.1.

    python -m services.devtools.checkfeeds DATASET_DIR --out results/check-feeds.json

Every `*.xml` / `*.json` file under DATASET_DIR (the feedparser test corpus:
each file opens with a comment holding `Description:`, `Expect:` and, for HTTP
cases, `Header:` lines) is served by an aiohttp server on 127.0.0.1 running in
its own thread, registered in a dict table and polled once through
`pipeline.poll_feed` with a real `HttpClient`. Each poll ends as one of:

- ok: no dead letter came back (its entries are counted),
- error: a dead letter came back (counted by its reason),
- crash: an exception escaped `poll_feed`,
- hang: no answer within the hang timeout (or the poll blocked the loop that long).

How files are served:

- `Header:` lines become real response headers. Framing headers (Content-Length,
  Transfer-Encoding, Connection) are dropped: the server frames the body itself.
  A `Status:` pseudo-header (feedparser's own test server knows it) sets the status.
- Content-Encoding: a body that is already compressed as declared (gzip magic,
  or a zlib/raw deflate stream) is served as is; a plain body is compressed
  honestly with the declared coding; a coding the server cannot produce (br,
  zstd...) is dropped, so the bytes on the wire always match the headers.
- Without a `Content-type` header an XML file is served as `application/xml`
  (no charset, so the document's BOM/declaration decides, RFC 7303) and a JSON
  file as `application/feed+json`.

For well-formed files (not under `illformed/`) that yield no entry, the file is
parsed with feedparser itself (with the headers it was served with); when
feedparser finds entries with a link, that is reported as a potential bug.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import re
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import feedparser
from aiohttp import web

from services.common.models import DeadLetter, FeedPoll, FeedRecord, decode, encode
from services.common.settings import Settings
from services.common.topics import DLQ, ENTRIES
from services.fetcher.config import config_from
from services.fetcher.net.http import HttpClient
from services.fetcher.pipeline import poll_feed, register_feed

Outcome = Literal["ok", "error", "crash", "hang"]
SUFFIXES = (".xml", ".json")
DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
HEADER_LINE = re.compile(r"^[ \t]*Header:[ \t]*([^:\r\n]+?)[ \t]*:[ \t]*(.*?)[ \t]*$", re.M)
DESCRIPTION = re.compile(r"Description:[ \t]*(.*?)(?:[ \t]*$|\s*Expect:|-->)", re.M)
# How the comment may be encoded: the corpus has UTF-16/32 files (with and without a BOM).
COMMENT_CODECS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
MAX_LISTED = 20


@dataclass(frozen=True)
class Case:
    """One corpus file and how to serve it."""

    path: str  # relative, POSIX
    body: bytes
    headers: tuple[tuple[str, str], ...]
    status: int = 200
    description: str = ""

    @property
    def wellformed(self) -> bool:
        return not self.path.startswith("illformed/")


@dataclass
class Result:
    path: str
    outcome: Outcome
    entries: int = 0
    reason: str | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Report:
    dataset: str
    feeds: int = 0
    ok: int = 0
    errors: int = 0
    crashes: int = 0
    hangs: int = 0
    entries: int = 0
    seconds: float = 0.0
    ok_without_entries: int = 0
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    wellformed_errors_by_reason: dict[str, int] = field(default_factory=dict)
    potential_bugs: int = 0
    potential_bugs_by_kind: dict[str, int] = field(default_factory=dict)
    potential_bug_examples: list[dict[str, str]] = field(default_factory=list)
    crash_examples: list[dict[str, str]] = field(default_factory=list)
    hang_paths: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        keys = ("feeds", "ok", "errors", "crashes", "hangs", "entries", "seconds")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out["errors_by_reason"] = self.errors_by_reason
        out["potential_bugs"] = self.potential_bugs
        return out


# --- the corpus ---------------------------------------------------------------------------


def _comment_text(data: bytes) -> str:
    head = data[:8192]
    for codec in COMMENT_CODECS:
        text = head.decode(codec, errors="ignore")
        if "Description:" in text or "Header:" in text:
            start = text.find("<!--")
            end = text.find("-->", start)
            return text[start : end if end >= 0 else None] if start >= 0 else text
    return ""


def _already_coded(body: bytes, coding: str) -> bool:
    if coding in ("gzip", "x-gzip"):
        return body[:2] == b"\x1f\x8b"
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # zlib stream, raw deflate
        try:
            zlib.decompressobj(wbits).decompress(body[:4096])
        except zlib.error:
            continue
        return True
    return False


def _encode_body(body: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(body, mtime=0)
    return zlib.compress(body)


def load_case(root: Path, file: Path) -> Case:
    body = file.read_bytes()
    comment = _comment_text(body)
    status = 200
    headers: list[tuple[str, str]] = []
    for name, value in HEADER_LINE.findall(comment):
        key = name.strip().lower()
        if key == "status" and value.isdigit():
            status = int(value)
        elif key == "content-encoding":
            coding = value.strip().lower()
            if coding not in ("gzip", "x-gzip", "deflate"):
                continue  # the server cannot produce it: drop rather than lie
            if not _already_coded(body, coding):
                body = _encode_body(body, coding)
            headers.append((name.strip(), value))
        elif key not in DROPPED_HEADERS:
            headers.append((name.strip(), value))
    if not any(k.lower() == "content-type" for k, _ in headers):
        default = "application/feed+json" if file.suffix == ".json" else "application/xml"
        headers.append(("Content-Type", default))
    found = DESCRIPTION.search(comment)
    return Case(
        path=file.relative_to(root).as_posix(),
        body=body,
        headers=tuple(headers),
        status=status,
        description=found.group(1).strip() if found else "",
    )


def load_corpus(root: Path) -> list[Case]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    return [load_case(root, f) for f in files]


# --- the server (its own thread and loop, as a remote server would be) --------------------


class CorpusServer:
    def __init__(self, cases: Sequence[Case]) -> None:
        self._cases = {c.path: c for c in cases}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        case = self._cases.get(request.match_info["path"])
        if case is None:
            raise web.HTTPNotFound()
        resp = web.Response(body=case.body, status=case.status)
        for name, value in case.headers:
            resp.headers.add(name, value)
        return resp

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_get("/{path:.+}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> CorpusServer:
        self._thread.start()
        self.base = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    def url(self, case: Case) -> str:
        return f"{self.base}/{quote(case.path)}"


# --- polling ------------------------------------------------------------------------------


async def _poll_one(
    url: str, path: str, *, client: HttpClient, settings: Settings, hang_timeout: float
) -> Result:
    table: dict[str, str] = {}
    register_feed(encode(FeedRecord(url=url)), key=url.encode(), partition=0, table=table)
    command = encode(FeedPoll(url=url, partition=0))
    started = time.perf_counter()
    try:
        outputs = await asyncio.wait_for(
            poll_feed(command, table=table, client=client, config=config_from(settings)),
            hang_timeout,
        )
    except TimeoutError:
        return Result(path, "hang", seconds=time.perf_counter() - started)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        return Result(path, "crash", error=error, seconds=time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if seconds > hang_timeout:  # a synchronous step blocked the loop past the timeout
        return Result(path, "hang", seconds=seconds)
    for out in outputs:
        if out.topic == DLQ.name:
            letter = decode(DeadLetter, out.value)
            return Result(path, "error", reason=letter.reason, error=letter.error, seconds=seconds)
    entries = sum(1 for o in outputs if o.topic == ENTRIES.name)
    return Result(path, "ok", entries=entries, seconds=seconds)


def _http(link: str) -> bool:
    return link.lower().startswith(("http://", "https://"))


def _linked(parsed: Any, *, explicit: bool) -> list[str]:
    """Entry links feedparser found; explicit=True ignores a `link` it made up from the id."""
    found: list[str] = []
    for entry in parsed.entries:
        hrefs = [
            str(ln.get("href"))
            for ln in entry.get("links", [])
            if ln.get("href") and ln.get("rel", "alternate") == "alternate"
        ]
        if not explicit and entry.get("link"):
            hrefs.append(str(entry.get("link")))
        found.extend(h for h in hrefs[:1] if _http(h))
    return found


def _suspect(case: Case, result: Result, url: str) -> tuple[str, str] | None:
    """(kind, reason) when a well-formed feed gave nothing although feedparser finds links.

    Two reference parses: one with only the Content-Type, as parse_feed sees the
    document (an http(s) entry link there that we dropped is a plain bug), and one
    with the headers as served and the feed URL as base (an entry link element
    that only becomes http(s) with that base means relative links go unresolved).
    """
    if not case.wellformed or case.path.endswith(".json"):
        return None
    if (result.outcome == "ok" and result.entries > 0) or result.outcome in ("crash", "hang"):
        return None
    headers = {k.lower(): v for k, v in case.headers}
    got = f"error {result.reason}" if result.outcome == "error" else "0 entries"
    try:
        as_seen = feedparser.parse(
            case.body, response_headers={"content-type": headers["content-type"]}
        )
        links = _linked(as_seen, explicit=False)
        if links:
            kind, count = "http_link_dropped", len(links)
            return kind, f"{got}; feedparser finds {count}, first {links[0]!r}"
        headers.setdefault("content-location", url)
        links = _linked(feedparser.parse(case.body, response_headers=headers), explicit=True)
    except Exception:  # feedparser itself fails on this file: nothing to compare with
        return None
    if links:
        reason = f"{got}; with the feed URL/Content-Location as base feedparser finds"
        return "relative_link_not_resolved", f"{reason} {len(links)}, first {links[0]!r}"
    return None


async def check_feeds(
    dataset: Path,
    *,
    concurrency: int = 32,
    hang_timeout: float = 30.0,
    settings: Settings | None = None,
) -> Report:
    """Serve every corpus file on 127.0.0.1, poll each once, classify the outcomes."""
    cases = load_corpus(dataset)
    settings = settings or Settings(allow_private_networks=True)
    report = Report(dataset=str(dataset), feeds=len(cases))
    started = time.perf_counter()
    with CorpusServer(cases) as server:
        client = HttpClient(settings)
        gate = asyncio.Semaphore(concurrency)

        async def one(case: Case) -> Result:
            async with gate:
                return await _poll_one(
                    server.url(case),
                    case.path,
                    client=client,
                    settings=settings,
                    hang_timeout=hang_timeout,
                )

        try:
            report.results = list(await asyncio.gather(*(one(c) for c in cases)))
        finally:
            await client.close()
        report.seconds = round(time.perf_counter() - started, 2)
        _tally(report, cases, server)
    return report


def _tally(report: Report, cases: Sequence[Case], server: CorpusServer) -> None:
    reasons: Counter[str] = Counter()
    wellformed_reasons: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for case, result in zip(cases, report.results, strict=True):
        if result.outcome == "ok":
            report.ok += 1
            report.entries += result.entries
            report.ok_without_entries += result.entries == 0
        elif result.outcome == "error":
            report.errors += 1
            reasons[result.reason or "?"] += 1
            if case.wellformed:
                wellformed_reasons[result.reason or "?"] += 1
        elif result.outcome == "crash":
            report.crashes += 1
            report.crash_examples.append({"path": case.path, "error": result.error or ""})
        else:
            report.hangs += 1
            report.hang_paths.append(case.path)
        suspect = _suspect(case, result, server.url(case))
        if suspect is not None:
            kinds[suspect[0]] += 1
            if len(report.potential_bug_examples) < MAX_LISTED:
                report.potential_bug_examples.append(
                    {
                        "path": case.path,
                        "kind": suspect[0],
                        "reason": suspect[1],
                        "description": case.description,
                    }
                )
    report.errors_by_reason = dict(reasons.most_common())
    report.wellformed_errors_by_reason = dict(wellformed_reasons.most_common())
    report.potential_bugs = sum(kinds.values())
    report.potential_bugs_by_kind = dict(kinds.most_common())
    del report.crash_examples[MAX_LISTED:]


# --- command line -------------------------------------------------------------------------


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _print_summary(report: Report, out: Path) -> None:
    _say(f"check-feeds: {report.feeds} feeds from {report.dataset} in {report.seconds}s")
    _say(
        f"  ok {report.ok} ({report.entries} entries; {report.ok_without_entries} without any), "
        f"errors {report.errors}, crashes {report.crashes}, hangs {report.hangs}"
    )
    if report.errors_by_reason:
        _say(
            "  errors by reason: "
            + ", ".join(f"{k} {v}" for k, v in report.errors_by_reason.items())
        )
    if report.wellformed_errors_by_reason:
        by = report.wellformed_errors_by_reason.items()
        _say("  of which in well-formed feeds: " + ", ".join(f"{k} {v}" for k, v in by))
    _say(
        "  potential bugs (well-formed, feedparser finds linked entries, none emitted): "
        f"{report.potential_bugs} {report.potential_bugs_by_kind or ''}"
    )
    for example in report.potential_bug_examples[:5]:
        _say(f"    {example['path']}: {example['reason']}")
    for crash in report.crash_examples[:5]:
        _say(f"  CRASH {crash['path']}: {crash['error']}")
    for path in report.hang_paths[:5]:
        _say(f"  HANG {path}")
    _say(f"  full results: {out}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="checkfeeds", description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, help="folder of feed files (feedparser-tests)")
    parser.add_argument("--out", type=Path, default=Path("results/check-feeds.json"))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--hang-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if not args.dataset.is_dir():
        parser.error(f"{args.dataset} is not a folder")
    # Failing feeds are the point here: they are counted, not logged one by one.
    quiet = logging.getLogger("services")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        report = asyncio.run(
            check_feeds(args.dataset, concurrency=args.concurrency, hang_timeout=args.hang_timeout)
        )
    finally:
        quiet.setLevel(level)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(report), indent=1) + "\n")
    _print_summary(report, args.out)
    _say(json.dumps(report.summary()))
    return 1 if report.crashes or report.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
