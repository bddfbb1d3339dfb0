"""The feed-corpus checker on a tiny corpus built in tmp_path (no ../shared needed)."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.devtools import checkfeeds
from services.fetcher.pipeline import poll_feed

GOOD_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<!--
Description: two items with links
Expect:      not bozo and len(entries) == 2
-->
<rss version="2.0"><channel><title>Good</title>
<item><guid>a</guid><link>http://news.example/a</link><title>A \xc3\xa9</title></item>
<item><guid>b</guid><link>https://news.example/b</link><title>B</title></item>
</channel></rss>
"""
BROKEN = b"""<!--
Description: not a feed at all
Expect:      bozo
-->
\x00\x01\x02 this is not xml
"""
HTTP_ATOM = b"""<?xml version="1.0"?>
<!--
Header:      Content-type: application/atom+xml
Header:      X-Foo: bar
Header:      Content-Length: 3
Header:      Content-Encoding: gzip
Description: an http case with headers to serve
Expect:      not bozo and headers['x-foo'] == 'bar'
-->
<feed xmlns="http://www.w3.org/2005/Atom"><title>H</title>
<entry><id>urn:x:1</id><link rel="alternate" href="http://news.example/h"/><title>H1</title></entry>
</feed>
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    files = {
        "wellformed/rss/good.xml": GOOD_RSS,
        "illformed/broken.xml": BROKEN,
        "wellformed/http/http_headers.xml": HTTP_ATOM,
    }
    for rel, body in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(body)
    (tmp_path / "LICENSE").write_text("not a feed, not served")
    return tmp_path


def test_case_headers_are_parsed_and_framing_dropped(corpus: Path) -> None:
    case = checkfeeds.load_case(corpus, corpus / "wellformed/http/http_headers.xml")
    names = {k.lower(): v for k, v in case.headers}
    assert names["content-type"] == "application/atom+xml"
    assert names["x-foo"] == "bar"
    assert "content-length" not in names
    # Declared gzip but stored plain: served honestly compressed.
    assert names["content-encoding"] == "gzip"
    assert gzip.decompress(case.body) == HTTP_ATOM
    assert case.description == "an http case with headers to serve"
    plain = checkfeeds.load_case(corpus, corpus / "wellformed/rss/good.xml")
    assert dict(plain.headers) == {"Content-Type": "application/xml"} and plain.body == GOOD_RSS


async def test_server_sends_the_declared_headers(corpus: Path) -> None:
    cases = checkfeeds.load_corpus(corpus)
    assert [c.path for c in cases] == [
        "illformed/broken.xml",
        "wellformed/http/http_headers.xml",
        "wellformed/rss/good.xml",
    ]
    with checkfeeds.CorpusServer(cases) as server:
        assert server.base.startswith("http://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.url(cases[1])) as resp,
        ):
            assert resp.status == 200
            assert resp.headers["X-Foo"] == "bar"
            assert resp.headers["Content-Type"] == "application/atom+xml"
            assert await resp.read() == HTTP_ATOM  # decompressed by the client


async def test_check_feeds_classifies_the_corpus(corpus: Path) -> None:
    report = await checkfeeds.check_feeds(corpus, concurrency=2, hang_timeout=10)
    by_path = {r.path: r for r in report.results}
    assert (report.feeds, report.ok, report.errors, report.crashes, report.hangs) == (3, 2, 1, 0, 0)
    assert by_path["wellformed/rss/good.xml"].entries == 2
    assert by_path["wellformed/http/http_headers.xml"].entries == 1
    assert by_path["illformed/broken.xml"].reason == "feed_parse"
    assert report.entries == 3 and report.errors_by_reason == {"feed_parse": 1}
    assert report.potential_bugs == 0 and report.wellformed_errors_by_reason == {}


async def test_crashes_and_hangs_are_counted(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = poll_feed

    async def flaky(raw: bytes | None, **kwargs: Any) -> Any:
        if b"good.xml" in (raw or b""):
            raise RuntimeError("boom")
        if b"broken.xml" in (raw or b""):
            await asyncio.sleep(5)
        return await real(raw, **kwargs)

    monkeypatch.setattr(checkfeeds, "poll_feed", flaky)
    report = await checkfeeds.check_feeds(corpus, concurrency=3, hang_timeout=0.5)
    assert (report.ok, report.errors, report.crashes, report.hangs) == (1, 0, 1, 1)
    assert report.crash_examples == [
        {"path": "wellformed/rss/good.xml", "error": "RuntimeError: boom"}
    ]
    assert report.hang_paths == ["illformed/broken.xml"]


def test_main_writes_results_and_ends_with_one_json_line(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "check-feeds.json"
    assert checkfeeds.main([str(corpus), "--out", str(out)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"feeds", "ok", "errors", "crashes", "hangs", "entries", "seconds"} <= set(last)
    assert (last["feeds"], last["ok"], last["errors"], last["crashes"]) == (3, 2, 1, 0)
    assert last["errors_by_reason"] == {"feed_parse": 1}
    full = json.loads(out.read_text())
    assert len(full["results"]) == 3 and full["feeds"] == 3


def test_a_well_formed_feed_without_entries_is_compared_with_feedparser(corpus: Path) -> None:
    """The potential-bug detector, fed a made-up outcome (whatever parse_feed does today)."""
    good = checkfeeds.load_case(corpus, corpus / "wellformed/rss/good.xml")
    nothing = checkfeeds.Result(good.path, "ok", entries=0)
    kind, reason = checkfeeds._suspect(good, nothing, "http://127.0.0.1:1/f") or ("", "")
    assert kind == "http_link_dropped" and "'http://news.example/a'" in reason

    relative = checkfeeds.Case(
        path="wellformed/rss/relative.xml",
        body=b'<rss version="2.0"><channel><item><link>/a/1</link></item></channel></rss>',
        headers=(("Content-Type", "application/rss+xml"),),
    )
    kind, reason = checkfeeds._suspect(relative, nothing, "http://127.0.0.1:1/f") or ("", "")
    assert kind == "relative_link_not_resolved" and "'http://127.0.0.1:1/a/1'" in reason

    found = checkfeeds.Result(good.path, "ok", entries=2)
    assert checkfeeds._suspect(good, found, "http://127.0.0.1:1/f") is None
    broken = checkfeeds.load_case(corpus, corpus / "illformed/broken.xml")
    assert checkfeeds._suspect(broken, nothing, "http://127.0.0.1:1/f") is None
