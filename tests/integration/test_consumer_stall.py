"""A real cleaner whose consumer stops handing out each partition's records after its
first, as faust-streaming was seen doing to the enricher in `make soak`'s burst
(faust-streaming issue 175): the stall watch finds the partitions, fetches them again
from their first record not handed out, counts the stall, and every page comes out.

Two ways to stall (services/common/faults.py): `consumer.lose-partition` takes the
partition out of the fetch set (the watch sees that at once);
`consumer.skip-records` keeps it fetched but has the fetch loop drop its records (the
watch sees records behind, nothing handed out, the agent idle).
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest

from services.common.settings import Settings
from services.devtools.stack import Stack
from tests.integration.test_cleaner_worker import article_ids, make_pages, produce

N_PAGES = 80
DEADLINE_S = 300.0  # generous: the machine is shared; the watch acts within ~30 s


def scrape(port: int | None, path: str) -> tuple[int, str]:
    assert port is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


def stalls_counted(text: str) -> float:
    found = re.findall(
        r'^newswire_consumer_stalls_total\{stage="cleaner",topic="newswire.pages"\} (\S+)$',
        text,
        re.M,
    )
    return float(found[0]) if found else 0.0


@pytest.mark.parametrize(
    ("fault", "found_by"),
    [
        ("consumer.lose-partition", "with nothing to fetch it again"),
        ("consumer.skip-records", "none handed out for"),
    ],
)
def test_stalled_partitions_are_found_and_read_again(
    stack: Stack, kafka_settings: Settings, fault: str, found_by: str
) -> None:
    run = uuid.uuid4().hex[:8]
    pages = make_pages(run, N_PAGES)
    proc = stack.start_service(
        "cleaner",
        {"NEWSWIRE_FAULT_INJECT": fault, "NEWSWIRE_STALL_AFTER_SECONDS": "4"},
    )
    proc.wait_ready(DEADLINE_S)
    asyncio.run(produce(kafka_settings, pages))

    expected = {p.article_id for p in pages}
    deadline = time.monotonic() + DEADLINE_S
    seen: set[str] = set()
    while time.monotonic() < deadline and not seen >= expected:
        assert proc.alive(), proc.log.read_text(errors="replace")[-3000:]
        seen = set(article_ids(kafka_settings, run))
    log = proc.log.read_text(errors="replace")
    assert seen == expected, f"{len(expected - seen)} pages never cleaned:\n{log[-3000:]}"

    # The fault did stall partitions, and the watch found them the way it should.
    found = [line for line in log.splitlines() if found_by in line]
    assert found, log[-3000:]
    if fault == "consumer.lose-partition":
        assert all("fetching False" in line for line in found), found
    # Counted at the watch's next round (every 10 s) after the records flowed again.
    while time.monotonic() < deadline and not stalls_counted(scrape(proc.port, "/metrics")[1]):
        time.sleep(1.0)
    assert stalls_counted(scrape(proc.port, "/metrics")[1]) >= 1
    # Repaired, not stuck: the liveness probe stays green.
    assert scrape(proc.port, "/healthz")[0] == 200
