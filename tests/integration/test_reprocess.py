"""`newswire reprocess --stage cleaner` through the live pipeline (issue 16 item 4), real
broker and real processes.

Twelve pages go through the cleaner, the enricher and dedup. Six are of a site whose
pages all end in the same line; the live cleaner learns it but, by its settings, does not
remove it yet. `newswire reprocess` (a process of its own) then runs the cleaner's code
over the same pages with the threshold lowered, as an upgraded cleaner would: those six
come out shorter and dedup answers `update` (same story, version 2); the six of the other
site come out as before and dedup takes them as replays, so newswire.stories gets no
second record of any of them. A page with no article is dead-lettered again, as live.
Then the enricher over the same time: of each article (now twice on newswire.articles)
only the last is enriched again, and dedup takes all twelve as replays.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.backfill.run import backfill
from services.common.kafka import end_offsets
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topics import ARTICLES, DLQ, ENRICHED, STORIES
from services.common.urls import article_id
from services.devtools.stack import Stack
from tests.conftest import validate_record
from tests.integration.storyread import Stories, read_stories
from tests.unit.backfill.synthetic import Cap, article_html, write_warc

WAIT_S = 600.0
PER_SITE = 6
# Article numbers no other test uses: article_html's pages of one number differ only in
# the run token, and dedup would take another test's for near copies of these.
FIRST = 9100
TEMPLATE = "The Gazette has reported on the county's eleven towns since its first edition in 1921."


def metric(stack: Stack, service: str, name: str) -> float:
    with urllib.request.urlopen(stack.metrics_url(service), timeout=10) as resp:
        text = resp.read().decode()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def caught_up(stack: Stack, service: str) -> None:
    """Until `service` holds its partitions and reports no records behind (its lag gauge,
    measured every 10 s, exists only once it has measured)."""
    series = f'newswire_consumer_lag_records{{stage="{service}",'
    deadline = time.monotonic() + WAIT_S
    stack.procs[service].wait_ready(WAIT_S)
    while time.monotonic() < deadline:
        with urllib.request.urlopen(stack.metrics_url(service), timeout=10) as resp:
            lines = [ln for ln in resp.read().decode().splitlines() if ln.startswith(series)]
        if lines and all(float(ln.rsplit(" ", 1)[1]) == 0 for ln in lines):
            return
        time.sleep(1.0)
    raise AssertionError(f"{service} did not catch up within {WAIT_S:.0f} s")


def reprocess_cli(
    settings: Settings, tmp: Path, *args: str, stage: str = "cleaner", **extra: str
) -> tuple[str, dict[str, Any]]:
    """`newswire reprocess --stage STAGE ARGS --json` as a process: its output and counts."""
    env = {
        "NEWSWIRE_KAFKA_BOOTSTRAP": settings.kafka.bootstrap or "",
        "NEWSWIRE_DATA_DIR": str(tmp / "reprocess-data"),
        # An upgraded cleaner: a line on 3 of a site's pages is template (the live one
        # was told 1000, so it removed none).
        "NEWSWIRE_SITE_TEMPLATE_MIN_ARTICLES": "3",
        "PATH": "/usr/bin:/bin",
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "reprocess", "--stage", stage, *args, "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    return done.stdout, json.loads(lines[-1])


def test_a_reprocessed_cleaner_updates_changed_articles_and_duplicates_nothing(
    stack: Stack, kafka_settings: Settings, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    gazette = [f"https://gazette-{run}.test/news/{i}" for i in range(PER_SITE)]
    courier = [f"https://courier-{run}.test/story/{i}" for i in range(PER_SITE)]
    empty = f"https://courier-{run}.test/empty"
    caps = [
        Cap(
            url,
            article_html(FIRST + i, run)
            .replace("</article>", f"<p>{TEMPLATE}</p></article>")
            .encode(),
        )
        for i, url in enumerate(gazette)
    ]
    caps += [
        Cap(url, article_html(FIRST + PER_SITE + i, run).encode()) for i, url in enumerate(courier)
    ]
    caps.append(
        Cap(empty, b"<html><head><title>t</title></head><body><nav>Home</nav></body></html>")
    )
    warc = write_warc(tmp_path / f"reprocess-{run}.warc.gz", caps)

    stack.start_service("cleaner", {"NEWSWIRE_SITE_TEMPLATE_MIN_ARTICLES": "1000"})
    stack.start_service("enricher", {"NEWSWIRE_ENRICHERS": "language,stats,keywords"})
    stack.start_service("dedup")

    def alive() -> None:
        for name, proc in stack.procs.items():
            assert proc.alive(), f"{name} died; log in {proc.log}"

    # Pages other tests left on the shared broker are cleaned (and enriched) first, so
    # the window below holds only this test's records.
    for name in ("cleaner", "enricher"):
        caught_up(stack, name)
    # To the millisecond, as the records are stamped (by this machine's clock): a second
    # back took in the pages the previous test had just produced.
    since = datetime.now(UTC)
    tally, _ = asyncio.run(
        backfill([warc], kafka_settings, out=io.StringIO(), tty=False, max_records_per_s=0)
    )
    assert tally.pages == 2 * PER_SITE + 1

    ids = {article_id(url): url for url in [*gazette, *courier]}
    live = asyncio.run(read_stories(kafka_settings, set(ids), lambda f: set(f) >= set(ids), alive))
    assert set(live) == set(ids), f"stories missing; logs in {stack.run_dir}"
    assert all(len(v) == 1 and v[0]["verdict"] == "new" for v in live.values()), live
    assert all(TEMPLATE in live[article_id(u)][0]["article"]["text"] for u in gazette)
    stack.procs["dedup"].wait_ready(WAIT_S)
    replays_before = metric(stack, "dedup", "newswire_dedup_replays_total")

    # --dry-run reads offsets only.
    articles_before = asyncio.run(end_offsets(kafka_settings, ARTICLES.name))
    out, counts = reprocess_cli(kafka_settings, tmp_path, "--since", since.isoformat(), "--dry-run")
    assert "would read 13 records again" in out, out
    assert counts["planned"] == 2 * PER_SITE + 1 and counts["sent"] == 0
    assert asyncio.run(end_offsets(kafka_settings, ARTICLES.name)) == articles_before

    dlq_before = asyncio.run(end_offsets(kafka_settings, DLQ.name))
    out, counts = reprocess_cli(kafka_settings, tmp_path, "--since", since.isoformat())
    assert "newswire.pages[" in out and "offsets" in out, out
    assert (counts["read"], counts["processed"]) == (13, 13), counts
    assert (counts["sent"], counts["dead_letters"]) == (2 * PER_SITE, 1), counts
    dlq_after = asyncio.run(end_offsets(kafka_settings, DLQ.name))
    assert sum(dlq_after.values()) - sum(dlq_before.values()) >= 1

    changed = {article_id(u) for u in gazette}

    def settled(found: Stories) -> bool:
        updated = all(len(found.get(i, ())) >= 2 for i in changed)
        # The unchanged six are decided too: dedup counted them as replays.
        replays = metric(stack, "dedup", "newswire_dedup_replays_total")
        return updated and replays >= replays_before + PER_SITE

    after = asyncio.run(read_stories(kafka_settings, set(ids), settled, alive))
    assert metric(stack, "dedup", "newswire_dedup_replays_total") >= replays_before + PER_SITE
    for aid in changed:
        first, *rest = after[aid]
        assert len(rest) == 1, f"{ids[aid]}: {[r['verdict'] for r in after[aid]]}"
        update = rest[0]
        validate_record(STORIES.name, update)
        assert update["verdict"] == "update", update["verdict"]
        assert update["duplicate_of"] == aid
        assert update["story_id"] == first["story_id"]
        assert update["version"] == 2
        assert update["size_change"] == -len(TEMPLATE) - 2  # the line and its "\n\n"
        assert TEMPLATE not in update["article"]["text"]
        # The capture time travels unchanged: dedup files it on the same day.
        assert update["article"]["trace"]["fetched_at"] == first["article"]["trace"]["fetched_at"]
    twice = {ids[i]: len(after[i]) for i in set(ids) - changed if len(after[i]) != 1}
    assert not twice, f"unchanged articles on newswire.stories again: {twice}"

    # The enricher over the same time: newswire.articles holds each article twice now
    # (the live cleaner's and the reprocessed); only the last is the article, and each
    # comes out of dedup as a replay: no story record at all.
    replays_before = metric(stack, "dedup", "newswire_dedup_replays_total")
    enriched_before = asyncio.run(end_offsets(kafka_settings, ENRICHED.name))
    out, counts = reprocess_cli(
        kafka_settings,
        tmp_path,
        "--since",
        since.isoformat(),
        stage="enricher",
        NEWSWIRE_ENRICHERS="language,stats",
    )
    assert (counts["read"], counts["processed"], counts["sent"]) == (24, 12, 12), counts
    assert counts["skipped"] == {"superseded": 12}, counts
    enriched_after = asyncio.run(end_offsets(kafka_settings, ENRICHED.name))
    assert sum(enriched_after.values()) - sum(enriched_before.values()) == 12

    def replayed(found: Stories) -> bool:
        return metric(stack, "dedup", "newswire_dedup_replays_total") >= replays_before + 12

    final = asyncio.run(read_stories(kafka_settings, set(ids), replayed, alive))
    grown = {ids[i]: len(final[i]) - len(after[i]) for i in ids if len(final[i]) != len(after[i])}
    assert not grown, f"re-enriched articles on newswire.stories again: {grown}"
