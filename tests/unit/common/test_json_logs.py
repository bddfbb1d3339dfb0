"""NEWSWIRE_LOG_FORMAT=json: one JSON object per record, with the article being handled
and an exception as one field."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from services.common.logging import ARTICLE_ID, JsonFormatter
from services.common.stage import Output, Source, Stage, article_key


def record(msg: str, *, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("broken page")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("faust.worker", logging.ERROR, __file__, 1, msg, ("x",), info)


def test_a_record_is_one_line_of_json_with_the_fields_a_log_pipeline_indexes() -> None:
    out = JsonFormatter("cleaner").format(record("failed on %s\nsecond line", exc=True))
    assert "\n" not in out
    data = json.loads(out)
    assert data["level"] == "ERROR" and data["service"] == "cleaner"
    assert data["logger"] == "faust.worker"
    assert data["message"] == "failed on x\nsecond line"
    assert (
        data["exception"].startswith("Traceback") and "ValueError: broken page" in data["exception"]
    )
    assert data["time"].endswith("+00:00")
    assert "article_id" not in data


def test_the_article_being_handled_is_on_every_line_logged_meanwhile() -> None:
    token = ARTICLE_ID.set("a1b2")
    try:
        assert json.loads(JsonFormatter("x").format(record("m %s")))["article_id"] == "a1b2"
    finally:
        ARTICLE_ID.reset(token)


def test_a_stage_names_the_article_of_the_record_it_handles() -> None:
    seen: list[str | None] = []

    def handler(_: bytes | None) -> list[Output]:
        seen.append(ARTICLE_ID.get())
        return []

    stage = Stage("cleaner")
    asyncio.run(stage.handle(Source("newswire.pages", 0, 1, b"abc"), b"{}", handler))
    asyncio.run(stage.handle(Source("newswire.entries", 0, 1, b"host"), b"{}", handler))
    assert seen == ["abc", None]  # entries are keyed by host, not by article
    assert ARTICLE_ID.get() is None  # not left behind for the next record
    assert article_key(Source("newswire.enriched", 0, 0, None)) is None
