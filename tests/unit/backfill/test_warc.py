"""Reading archives nobody here wrote (warcio's samples) and ones the tests write."""

from __future__ import annotations

import gzip
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]

from services.backfill.warc import parse_warc_date, read_captures, sniff_format
from services.common.settings import PROJECT_ROOT
from tests.unit.backfill.synthetic import Cap, article_html, write_warc

DATA = PROJECT_ROOT / "tests" / "data" / "warc"
LIMIT = 5 * 1024 * 1024


def kinds(path: Path, **kw: int) -> list[tuple[int, str]]:
    return [(c.offset, c.kind) for c in read_captures(path, max_body_bytes=LIMIT, **kw)]


def test_warcio_samples_read_with_every_record_and_its_offset() -> None:
    expected = ["warcinfo", "warcinfo", "response", "request", "revisit", "request"]
    gz = kinds(DATA / "example.warc.gz")
    plain = kinds(DATA / "example.warc")
    assert [k for _, k in gz] == expected == [k for _, k in plain]
    # Offsets as warcio, the reference, gives them (gzip: the member's start).
    for name, got in (("example.warc.gz", gz), ("example.warc", plain)):
        with (DATA / name).open("rb") as fh:
            it = ArchiveIterator(fh)
            ref = []
            for rec in it:
                rec.content_stream().read()
                ref.append(it.get_record_offset())
        assert [o for o, _ in got] == ref, name


def test_the_response_has_its_capture_time_id_status_headers_and_body() -> None:
    for name in ("example.warc.gz", "example.warc"):
        [resp] = [
            c for c in read_captures(DATA / name, max_body_bytes=LIMIT) if c.kind == "response"
        ]
        assert resp.target_uri == "http://example.com/"
        assert resp.record_id == "<urn:uuid:a9c51e3e-0221-11e7-bf66-0242ac120005>"
        assert resp.date is not None and resp.date.isoformat() == "2017-03-06T04:02:06+00:00"
        assert resp.status == 200
        assert resp.headers["content-type"] == "text/html"
        assert resp.body is not None and resp.body.startswith(b"<!doctype html>")
        assert len(resp.body) == 1270 and b"Example Domain" in resp.body


def test_arc_files_plain_and_gzip() -> None:
    for name in ("example.arc", "example.arc.gz"):
        assert sniff_format(DATA / name) == "arc"
        caps = list(read_captures(DATA / name, max_body_bytes=LIMIT))
        assert [c.kind for c in caps] == ["warcinfo", "response"]
        resp = caps[1]
        assert resp.target_uri == "http://example.com/"
        assert resp.status == 200 and resp.body is not None and len(resp.body) == 1270
        assert resp.date is not None and resp.date.isoformat() == "2014-02-16T05:02:21+00:00"
        # Stable across reads (warcio would make up a random id for an ARC record).
        assert resp.record_id == f"{name}#{resp.offset}"


def test_chunked_transfer_encoding_is_undone_as_warcio_does() -> None:
    path = DATA / "example-iana.org-chunked.warc"
    [resp] = [c for c in read_captures(path, max_body_bytes=LIMIT) if c.kind == "response"]
    assert resp.headers["transfer-encoding"] == "chunked"
    with path.open("rb") as fh:
        ref = next(r for r in ArchiveIterator(fh) if r.rec_type == "response")
        expected = ref.content_stream().read()
    assert resp.body == expected and len(expected) == 7223
    assert resp.body is not None and resp.body.rstrip().endswith(b"</html>")


def test_a_resource_record_is_a_page_without_an_http_envelope() -> None:
    caps = list(read_captures(DATA / "example-resource.warc.gz", max_body_bytes=LIMIT))
    [res] = [c for c in caps if c.kind == "resource"]
    assert res.status == 200 and res.headers["content-type"].startswith("text/html")
    assert res.body is not None and b"Example Domain" in res.body


def test_resume_seeks_to_a_record_or_skips_by_count(tmp_path: Path) -> None:
    caps = [Cap(f"https://news.test/a/{i}", article_html(i).encode()) for i in range(6)]
    per_record = write_warc(tmp_path / "a.warc.gz", caps)
    every = list(read_captures(per_record, max_body_bytes=LIMIT))
    third = every[3]
    tail = list(read_captures(per_record, max_body_bytes=LIMIT, start=third.offset, skip_records=3))
    assert [c.target_uri for c in tail] == [c.target_uri for c in every[3:]]
    assert [c.index for c in tail] == [3, 4, 5]
    # One gzip member for the whole file: no record boundary to seek to, so the reader
    # starts over and skips the records already done.
    single = tmp_path / "single.warc.gz"
    single.write_bytes(
        gzip.compress(write_warc(tmp_path / "p.warc", caps, gzip=False).read_bytes())
    )
    whole = list(read_captures(single, max_body_bytes=LIMIT))
    assert [c.target_uri for c in whole] == [c.target_uri for c in every]
    rest = list(read_captures(single, max_body_bytes=LIMIT, start=whole[3].offset, skip_records=3))
    assert [c.target_uri for c in rest] == [c.target_uri for c in every[3:]]


def test_an_oversized_payload_is_flagged_not_read(tmp_path: Path) -> None:
    big = b"<html><body>" + b"x" * 50_000 + b"</body></html>"
    path = write_warc(tmp_path / "big.warc.gz", [Cap("https://news.test/big", big)])
    [cap] = list(read_captures(path, max_body_bytes=10_000))
    assert cap.too_large and cap.body is None and cap.length > 50_000


def test_a_gzip_content_encoding_is_undone(tmp_path: Path) -> None:
    html = article_html(1).encode()
    cap = Cap(
        "https://news.test/gz",
        gzip.compress(html),
        extra_headers=(("Content-Encoding", "gzip"),),
    )
    [got] = list(read_captures(write_warc(tmp_path / "e.warc.gz", [cap]), max_body_bytes=LIMIT))
    assert got.body == html


def test_a_file_cut_short_ends_with_what_was_read(tmp_path: Path) -> None:
    caps = [Cap(f"https://news.test/c/{i}", article_html(i).encode()) for i in range(3)]
    path = write_warc(tmp_path / "cut.warc", caps, gzip=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 500])
    got = list(read_captures(path, max_body_bytes=LIMIT))
    assert [c.target_uri for c in got[:2]] == [c.url for c in caps[:2]]
    assert all(c.error is None for c in got[:2])


def test_warc_dates() -> None:
    assert parse_warc_date("2017-03-06T04:02:06Z") is not None
    with_fraction = parse_warc_date("2026-01-02T03:04:05.123456Z")
    assert with_fraction is not None and with_fraction.microsecond == 123456
    assert parse_warc_date("yesterday") is None and parse_warc_date(None) is None
