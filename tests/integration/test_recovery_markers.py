"""Table recovery from a changelog with transaction markers, by an at_least_once worker.

An exactly_once worker writes its changelogs in transactions, each ended by a marker at
an offset of its own that no consumer receives. A worker switched back to at_least_once
then stayed in recovery for good: Faust waits for a record at the changelog's last
offset, which is a marker (services.common.runtime, MarkerAwareRecovery).

The worker is a real Faust worker process (Newswire's runtime.App, a table and an
agent, like the cleaner) on the real broker; it prints its table once recovery is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition

from services.common.kafka import client_options, consumer, ensure_topics
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topics import TopicSpec

# Recovery takes seconds once it ends at the markers; without that it never ends.
DEADLINE_S = 180.0
REPORT = "RECOVERED "
TRANSACTIONS = ({"a": 1, "b": 2}, {"c": 3, "a": 4})


def worker_main(bootstrap: str, app_id: str, source: str) -> None:
    """A worker with one table; prints the table's contents when recovery is done."""
    import faust
    from faust.worker import Worker

    from services.common import runtime
    from services.common.kafka import faust_options

    settings = Settings(kafka_bootstrap=bootstrap)
    assert settings.worker.processing_guarantee == "at_least_once"
    app = runtime.App(
        app_id,
        **{**faust_options(settings), "topic_partitions": 1},
        store="memory://",
        web_enabled=False,
        table_standby_replicas=0,
        datadir=os.environ["TEST_DATADIR"],
    )
    table = app.Table("t", key_type=str, value_type=int, partitions=1)

    @app.agent(app.topic(source, key_type=bytes, value_type=bytes))
    async def consume(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream:
            pass

    @app.task  # type: ignore[untyped-decorator]
    async def report() -> None:  # app tasks start once table recovery is done
        print(REPORT + json.dumps(dict(table.items()), sort_keys=True), flush=True)

    Worker(app, loglevel="info", quiet=True).execute_from_commandline()


async def write_changelog(settings: Settings, changelog: str) -> tuple[int, int]:
    """Each of TRANSACTIONS as a committed transaction. Returns the offset of the last
    record and the partition's end offset: the offsets between are markers."""
    producer = AIOKafkaProducer(**client_options(settings), transactional_id=f"{changelog}-w")
    await producer.start()
    try:
        last = -1
        for batch in TRANSACTIONS:
            async with producer.transaction():
                for key, value in batch.items():
                    meta = await producer.send_and_wait(
                        changelog,
                        key=json.dumps(key).encode(),
                        value=json.dumps(value).encode(),
                        partition=0,
                    )
                    last = int(meta.offset)
    finally:
        await producer.stop()
    cons = consumer(settings, enable_auto_commit=False)
    await cons.start()
    try:
        tp = TopicPartition(changelog, 0)
        end = (await cons.end_offsets([tp]))[tp]
    finally:
        await cons.stop()
    return last, int(end)


async def prepare(settings: Settings, app_id: str, source: str) -> tuple[int, int]:
    changelog = f"{app_id}-t-changelog"
    specs = (
        TopicSpec(source, "-", "", partitions=1),
        TopicSpec(changelog, "table key", "", compacted=True, internal=True, partitions=1),
    )
    await ensure_topics(settings, specs)
    return await write_changelog(settings, changelog)


def test_at_least_once_worker_recovers_a_changelog_ending_in_a_marker(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    app_id = f"test-markers-{uuid.uuid4().hex[:8]}"
    source = f"{app_id}-in"
    last, end = asyncio.run(prepare(kafka_settings, app_id, source))
    # The changelog's last offset is the second transaction's commit marker.
    assert end == last + 2, (last, end)
    assert kafka_settings.kafka.bootstrap
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "TEST_DATADIR": str(tmp_path / "data"),
        "NEWSWIRE_PROCESSING_GUARANTEE": "at_least_once",
    }
    code = (
        f"from {__name__} import worker_main; "
        f"worker_main({kafka_settings.kafka.bootstrap!r}, {app_id!r}, {source!r})"
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        report = wait_for_report(proc, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    expected: dict[str, int] = {}
    for batch in TRANSACTIONS:
        expected.update(batch)
    assert report == expected


def wait_for_report(proc: subprocess.Popen[bytes], log: Path) -> dict[str, int]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if REPORT in line:  # the worker logs what it prints, behind a prefix
                found: dict[str, int] = json.loads(line.split(REPORT, 1)[1])
                return found
        assert proc.poll() is None, "worker exited:\n" + log.read_text()[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"recovery not done after {DEADLINE_S:.0f}s:\n" + log.read_text()[-3000:])
