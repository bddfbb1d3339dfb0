"""`newswire backfill` through the live pipeline (issue 16 items 1 and 6), real broker.

A WARC of 50 captures (40 articles, 10 of them also under a second outlet's URL: a
syndicated copy with the same HTML) goes through the cleaner, the enricher and dedup
as real processes; every article is on newswire.stories exactly once, each copy as a
duplicate of its original. A second run over the same file sends nothing.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
from collections import Counter
from pathlib import Path

from services.backfill.run import backfill
from services.common.kafka import end_offsets
from services.common.settings import Settings
from services.common.topics import BACKFILL_PROGRESS, PAGES, STORIES
from services.common.urls import article_id
from services.devtools.stack import Stack
from tests.conftest import validate_record
from tests.integration.storyread import read_stories
from tests.texts import story_text
from tests.unit.backfill.synthetic import Cap, article_html, write_warc

WAIT_S = 600.0
ARTICLES = 40
COPIES = 10


def test_a_warc_goes_through_the_pipeline_once_and_a_second_run_sends_nothing(
    stack: Stack, kafka_settings: Settings, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    originals = [f"https://daily-{run}.test/news/{i}" for i in range(ARTICLES)]
    copies = {f"https://wire-{run}.test/syndicated/{i}": originals[i] for i in range(COPIES)}

    def page(i: int) -> bytes:
        # article_html's pages of one topic differ only in their numbers: near copies of
        # each other for dedup (it said so once in CI). A paragraph of its own each.
        own = f"<p>{story_text(f'{run}-{i}', i % 8)}</p></article>"
        return article_html(i, run).replace("</article>", own).encode()

    caps = [
        Cap(url, page(i), date=f"2026-10-0{1 + i % 5}T08:{i:02d}:00Z")
        for i, url in enumerate(originals)
    ]
    caps += [Cap(copy, page(i), date=f"2026-10-06T09:{i:02d}:00Z") for i, copy in enumerate(copies)]
    # Things a crawl also holds, which must not become stories.
    caps.append(Cap(f"https://daily-{run}.test/missing", b"<html>404</html>", status=404))
    caps.append(Cap(f"https://daily-{run}.test/logo.png", b"\x89PNG", content_type="image/png"))
    warc = write_warc(tmp_path / f"crawl-{run}.warc.gz", caps)

    for name in ("cleaner", "enricher", "dedup"):
        stack.start_service(name, {"NEWSWIRE_ENRICHERS": "language,stats,keywords"})

    def alive() -> None:
        for name, proc in stack.procs.items():
            assert proc.alive(), f"{name} died; log in {proc.log}"

    out = io.StringIO()
    tally, _ = asyncio.run(
        backfill([warc], kafka_settings, out=out, tty=False, max_records_per_s=0)
    )
    assert (tally.records, tally.pages) == (ARTICLES + COPIES + 2, ARTICLES + COPIES)
    assert tally.skipped == Counter({"status_4xx": 1, "content_type": 1})
    assert "52 records" in out.getvalue()

    ids = {article_id(url): url for url in [*originals, *copies]}
    found = asyncio.run(read_stories(kafka_settings, set(ids), lambda f: set(f) >= set(ids), alive))
    missing = sorted(ids[i] for i in set(ids) - set(found))
    assert not missing, f"no story within {WAIT_S:.0f} s for {missing}; logs in {stack.run_dir}"
    twice = {ids[i]: len(v) for i, v in found.items() if len(v) > 1}
    assert not twice, f"articles on newswire.stories more than once: {twice}"
    story = {ids[i]: v[0] for i, v in found.items()}
    for value in story.values():
        validate_record(STORIES.name, value)
    for copy, original in copies.items():
        pair = {story[copy]["verdict"], story[original]["verdict"]}
        assert pair == {"new", "duplicate"}, (copy, pair)
        dup, first = (copy, original) if story[copy]["verdict"] == "duplicate" else (original, copy)
        assert story[dup]["duplicate_of"] == article_id(first)
        assert story[dup]["story_id"] == story[first]["story_id"]
    alone = [u for u in originals[COPIES:]]
    assert all(story[u]["verdict"] == "new" for u in alone), [story[u]["verdict"] for u in alone]
    # Capture time travels as the fetch time.
    assert story[originals[0]]["article"]["trace"]["fetched_at"].startswith("2026-10-01T08:00:00")

    # Resume: the file is noted done; a second run reads nothing and sends nothing.
    pages_before = asyncio.run(end_offsets(kafka_settings, PAGES.name))
    again, _ = asyncio.run(
        backfill([warc], kafka_settings, out=io.StringIO(), tty=False, max_records_per_s=0)
    )
    assert (again.files_done_before, again.records, again.pages) == (1, 0, 0)
    assert asyncio.run(end_offsets(kafka_settings, PAGES.name)) == pages_before
    assert asyncio.run(end_offsets(kafka_settings, BACKFILL_PROGRESS.name))


def test_a_growing_archive_resumes_at_its_noted_offset(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """An archive still being written (the fetcher's current hour): a run reads what is
    there and notes its end; the next run, after more records were appended, seeks
    there and sends only the new ones."""
    run = uuid.uuid4().hex[:8]

    def caps(lo: int, hi: int) -> list[Cap]:
        # Incompressible padding: the file passes the 64 KiB that key it within 10 pages.
        return [
            Cap(
                f"https://g-{run}.test/a/{i}",
                (article_html(i, run) + f"<!-- {secrets.token_hex(8000)} -->").encode(),
            )
            for i in range(lo, hi)
        ]

    path = write_warc(tmp_path / "growing.warc.gz", caps(0, 10))
    settings = kafka_settings.replace(backfill_checkpoint_records=4)
    first, _ = asyncio.run(
        backfill([path], settings, out=io.StringIO(), tty=False, max_records_per_s=0)
    )
    assert first.pages == 10
    before = asyncio.run(end_offsets(kafka_settings, PAGES.name))
    more = write_warc(tmp_path / "more.warc.gz", caps(10, 16))
    with path.open("ab") as fh:  # gzip per record: appending members appends records
        fh.write(more.read_bytes())
    second, _ = asyncio.run(
        backfill([path], settings, out=io.StringIO(), tty=False, max_records_per_s=0)
    )
    assert (second.records, second.pages, second.files_done_before) == (6, 6, 0)
    after = asyncio.run(end_offsets(kafka_settings, PAGES.name))
    assert sum(after.values()) - sum(before.values()) >= 6
