"""A stage's outputs must fit in one broker message, and so must its dead letters."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from services.common.faustapp import StageApp
from services.common.models import DeadLetter, decode
from services.common.settings import Settings
from services.common.stage import RECORD_OVERHEAD, Output, Source, Stage, dead_letter
from services.common.topics import DLQ

LIMIT = 64 * 1024
SOURCE = Source("newswire.pages", 3, 41, b"article-1")


async def test_an_output_too_large_for_the_broker_becomes_a_dead_letter() -> None:
    # A page just under the limit whose decoded text grew past it (cp1251 doubles in UTF-8).
    page = b"p" * (LIMIT - 2 * RECORD_OVERHEAD)

    def grow(raw: bytes | None) -> list[Output]:
        return [Output("newswire.articles", b"article-1", (raw or b"") * 2)]

    [dead] = await Stage("cleaner", max_message_bytes=LIMIT).handle(SOURCE, page, grow)
    assert dead.topic == DLQ.name
    record = decode(DeadLetter, dead.value)
    assert record.reason == "too_large" and "newswire.articles" in record.error
    # The dead letter itself fits, and says how much of the original it kept.
    assert len(dead.value or b"") + len(dead.key or b"") <= LIMIT - RECORD_OVERHEAD
    assert record.original_truncated and record.original_bytes == len(page)
    kept = base64.b64decode(record.original_b64)
    assert page.startswith(kept) and len(kept) > LIMIT // 2


async def test_outputs_within_the_limit_pass_unchanged() -> None:
    out = Output("newswire.articles", b"k", b"v" * (LIMIT - RECORD_OVERHEAD - 1))
    assert await Stage("cleaner", max_message_bytes=LIMIT).handle(
        SOURCE, b"x", lambda _: [out]
    ) == [out]


def test_a_small_dead_letter_keeps_the_whole_original() -> None:
    dead = dead_letter("fetcher", SOURCE, b"\x00raw", ValueError("bad"), max_bytes=LIMIT)
    record = decode(DeadLetter, dead.value)
    assert base64.b64decode(record.original_b64) == b"\x00raw"
    assert record.original_bytes == 4 and not record.original_truncated


async def test_a_send_that_fails_stops_the_whole_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not just the agent: Faust would restart it in place, past its unacked record."""
    sa = StageApp("cleaner", Settings(kafka_bootstrap="127.0.0.1:9", data_dir=tmp_path))
    crashed: list[BaseException] = []

    async def crash(exc: BaseException) -> None:
        crashed.append(exc)

    async def refuse(outputs: Sequence[Output]) -> list[Any]:
        raise MessageSizeTooLargeError("the broker said no")

    monkeypatch.setattr(sa.app, "crash", crash)
    monkeypatch.setattr(sa, "send_soon", refuse)
    with pytest.raises(MessageSizeTooLargeError):
        await sa.send([Output("newswire.articles", b"k", b"v")])
    await asyncio.sleep(0)  # the crash runs as its own task
    assert len(crashed) == 1 and isinstance(crashed[0], MessageSizeTooLargeError)
