"""Print a topic's records as they arrive, one JSON line each."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from aiokafka import TopicPartition

from services.common.errors import NewswireError
from services.common.kafka import consumer
from services.common.settings import Settings
from services.common.topics import STORIES
from services.devtools.storyboard import StoryBoard


async def read_topic(
    settings: Settings,
    topic: str,
    *,
    from_beginning: bool = True,
    max_records: int | None = None,
    timeout: float | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_idle: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Read records (key, partition, offset, value as JSON when it is JSON); `on_idle`
    is called after each wait for records that brought none (about every half second)."""
    cons = consumer(settings, enable_auto_commit=False, group_id=None)
    await cons.start()
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout if timeout else None
    try:
        # Assign every partition explicitly: no group, no rebalance, nothing missed.
        partitions = await _partitions(cons, topic, deadline)
        cons.assign(partitions)
        if from_beginning:
            await cons.seek_to_beginning(*partitions)
        else:
            await cons.seek_to_end(*partitions)
        while (max_records is None or len(out) < max_records) and (
            deadline is None or time.monotonic() < deadline
        ):
            batch = await cons.getmany(timeout_ms=500)
            if not batch and on_idle is not None:
                on_idle()
            for records in batch.values():
                for rec in records:
                    item = {
                        "topic": rec.topic,
                        "partition": rec.partition,
                        "offset": rec.offset,
                        "key": rec.key.decode("utf-8", "replace") if rec.key is not None else None,
                        "value": _value(rec.value),
                    }
                    out.append(item)
                    if on_record is not None:
                        on_record(item)
    finally:
        await cons.stop()
    return out


async def _partitions(cons: Any, topic: str, deadline: float | None) -> list[TopicPartition]:
    while True:
        await cons._client.force_metadata_update()
        found = cons.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if deadline is not None and time.monotonic() > deadline:
            raise NewswireError(f"topic {topic} does not exist")
        await asyncio.sleep(0.5)


def _value(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def summarize_story(value: Any) -> str:
    if not isinstance(value, dict) or "verdict" not in value:
        return json.dumps(value)[:300]
    art = value.get("article", {})
    dup = f" of {value['duplicate_of']}" if value.get("duplicate_of") else ""
    return (
        f"[{value['verdict']}{dup}] story={value['story_id']} id={value['article_id']} "
        f"lang={art.get('language')} words={art.get('word_count')} | {art.get('title')}"
    )


def tail(
    settings: Settings,
    topic: str,
    *,
    pretty: bool,
    from_beginning: bool = True,
    max_records: int | None = None,
    timeout: float | None = None,
) -> None:
    def show(item: dict[str, Any]) -> None:
        line = summarize_story(item["value"]) if pretty else json.dumps(item)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    asyncio.run(
        read_topic(
            settings,
            topic,
            from_beginning=from_beginning,
            max_records=max_records,
            timeout=timeout,
            on_record=show,
        )
    )


def tail_stories(
    settings: Settings,
    *,
    quiet_seconds: float = 4.0,
    out: TextIO | None = None,
    timeout: float | None = None,
    once: bool = False,
) -> StoryBoard:
    """newswire.stories for a person: a line per record as it arrives, and every story
    with its articles' outlets and verdicts once no record has come for `quiet_seconds`
    (printed again after each later burst; with `once`, the first time ends it)."""
    board = StoryBoard()
    last_record = time.monotonic()

    def write(lines: list[str]) -> None:
        stream = out or sys.stdout
        stream.write("".join(line + "\n" for line in lines))
        stream.flush()

    def show(item: dict[str, Any]) -> None:
        nonlocal last_record
        line = board.add(item["value"])
        if line is not None:
            last_record = time.monotonic()
            write([line])

    def idle() -> None:
        if board.changed and time.monotonic() - last_record >= quiet_seconds:
            write(["", *board.render(), ""])
            if once:
                raise _Quiet

    with contextlib.suppress(_Quiet):
        asyncio.run(
            read_topic(settings, STORIES.name, timeout=timeout, on_record=show, on_idle=idle)
        )
    return board


class _Quiet(Exception):
    """Ends tail_stories(once=True) from inside the read loop (which then stops its consumer)."""
