"""Print a topic's records as they arrive, one JSON line each."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any, TextIO

from services.common.settings import Settings
from services.common.topicread import read_topic
from services.common.topics import STORIES
from services.devtools.storyboard import StoryBoard


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
