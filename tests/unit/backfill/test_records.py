"""A capture becomes the page the fetcher would have made, or a counted reason not to."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

from services.backfill.records import Skip, dead_letter_for, page_from_capture
from services.backfill.warc import Capture, read_captures
from services.common.models import Entry, Page, encode
from services.common.settings import PROJECT_ROOT
from services.common.urls import article_id
from services.fetcher.net.http import Response
from services.fetcher.pipeline import build_page
from tests.conftest import validate_record
from tests.unit.backfill.synthetic import Cap, article_html, write_warc

DATA = PROJECT_ROOT / "tests" / "data" / "warc"
LIMIT = 5 * 1024 * 1024


def outcomes(path: Path, limit: int = LIMIT) -> list[tuple[Capture, Page | Skip]]:
    return [(c, page_from_capture(c, path.name)) for c in read_captures(path, max_body_bytes=limit)]


def test_the_sample_response_is_the_page_the_fetcher_would_make() -> None:
    [(cap, page)] = [(c, o) for c, o in outcomes(DATA / "example.warc.gz") if isinstance(o, Page)]
    assert cap.body is not None
    resp = Response("http://example.com/", "http://example.com/", 200, cap.headers, cap.body)
    fetched = build_page(Entry(entry_id="x", feed_url="f", link="http://example.com/"), resp)
    assert page.article_id == article_id("http://example.com/") == fetched.article_id
    assert (page.url, page.final_url, page.status) == ("http://example.com/",) * 2 + (200,)
    assert page.body == fetched.body and "Example Domain" in page.body
    assert (page.charset, page.content_type) == (fetched.charset, fetched.content_type)
    assert page.canonical_url == fetched.canonical_url
    capture_time = datetime(2017, 3, 6, 4, 2, 6, tzinfo=UTC)
    assert page.fetched_at == capture_time == page.trace.fetched_at
    assert list(page.trace.stages) == ["backfill"]
    assert page.warc_record_id == "<urn:uuid:a9c51e3e-0221-11e7-bf66-0242ac120005>"
    assert page.entry.feed_url == "warc:example.warc.gz"
    assert page.entry.link == "http://example.com/" and page.entry.published is None
    validate_record("newswire.pages", json.loads(encode(page)))


def test_skips_are_named_and_only_the_worth_seeing_ones_dead_lettered(tmp_path: Path) -> None:
    html = article_html(0).encode()
    caps = [
        Cap("https://news.test/ok", html),
        Cap("https://news.test/gone", b"<html>gone</html>", status=404),
        Cap("https://news.test/moved", b"", status=301),
        Cap("https://news.test/broken", b"<html>oops</html>", status=503),
        Cap("https://news.test/logo.png", b"\x89PNG....", content_type="image/png"),
        Cap("https://news.test/big", b"<html>" + b"x" * 20_000 + b"</html>"),
        Cap("dns:news.test", b"1.2.3.4", content_type="text/dns"),
        Cap("https://news.test/plain", b"Just text.", content_type="text/plain"),
    ]
    path = write_warc(tmp_path / "mix.warc.gz", caps)
    got = {c.target_uri: o for c, o in outcomes(path, limit=10_000)}
    assert isinstance(got["https://news.test/ok"], Page)
    assert isinstance(got["https://news.test/plain"], Page)
    skips = {uri: (o.reason, o.dead_letter) for uri, o in got.items() if isinstance(o, Skip)}
    assert skips == {
        "https://news.test/gone": ("status_4xx", False),
        "https://news.test/moved": ("status_3xx", False),
        "https://news.test/broken": ("status_5xx", False),
        "https://news.test/logo.png": ("content_type", False),
        "https://news.test/big": ("too_large", True),
        "dns:news.test": ("no_url", False),
    }


def test_a_dead_letter_says_where_the_capture_is(tmp_path: Path) -> None:
    big = Cap("https://news.test/big", b"<html>" + b"x" * 20_000 + b"</html>")
    path = write_warc(tmp_path / "big.warc.gz", [big])
    [(cap, skip)] = outcomes(path, limit=10_000)
    assert isinstance(skip, Skip)
    out = dead_letter_for(cap, skip, str(path), max_bytes=1_000_000)
    assert out.topic == "newswire.dlq" and out.key == b"https://news.test/big"
    assert out.value is not None
    letter = json.loads(out.value)
    validate_record("newswire.dlq", letter)
    assert (letter["stage"], letter["reason"]) == ("backfill", "too_large")
    assert str(path) in letter["error"]
    original = json.loads(base64.b64decode(letter["original_b64"]))
    assert original["target_uri"] == "https://news.test/big"
    assert original["file"] == str(path) and original["offset"] == 0


def test_an_unreadable_record_is_dead_lettered() -> None:
    cap = Capture(
        offset=7,
        kind="unreadable",
        record_id=None,
        target_uri=None,
        date=None,
        error="OSError: truncated",
    )
    skip = page_from_capture(cap, "x.warc.gz")
    assert isinstance(skip, Skip) and skip.reason == "warc_record" and skip.dead_letter


def test_revisits_and_other_records_are_counted_by_kind() -> None:
    reasons = [o.reason for _, o in outcomes(DATA / "example.warc") if isinstance(o, Skip)]
    assert sorted(reasons) == ["request", "request", "revisit", "warcinfo", "warcinfo"]


def test_a_windows_1252_page_is_decoded_as_the_fetcher_decodes_it(tmp_path: Path) -> None:
    html = "<html><body><p>Caf\u00e9 \u201cquoted\u201d</p></body></html>".encode("cp1252")
    cap = Cap("https://news.test/cafe", html, content_type="text/html; charset=iso-8859-1")
    [(_, page)] = outcomes(write_warc(tmp_path / "w.warc.gz", [cap]))
    assert isinstance(page, Page)
    assert "Caf\u00e9 \u201cquoted\u201d" in page.body and page.charset == "cp1252"
