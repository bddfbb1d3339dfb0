"""`newswire enrich`: the enricher's code on JSON lines of articles, one enriched line each."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from services.common.models import Article
from services.common.settings import Settings
from services.enricher.pipeline import enrich


def to_article(record: dict[str, Any]) -> Article:
    """An article from a record that may hold only `id`, `title` and `text`."""
    text = str(record.get("text") or "")
    filled = {
        "url": "",
        "paragraphs": [p.strip() for p in text.split("\n") if p.strip()],
        **record,
    }
    return Article.model_validate(filled)


def records(path: str, stdin: TextIO) -> Iterator[tuple[int, str]]:
    """(line number, line) of each non-blank line of a file, or of stdin for `-`."""
    with contextlib.ExitStack() as stack:
        stream = stdin if path == "-" else stack.enter_context(Path(path).open(encoding="utf-8"))
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line


def run(
    paths: list[str],
    settings: Settings,
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
) -> int:
    """Print one JSON line per input record (an error record for a bad line); return failures."""
    failed = 0
    for path in paths:
        for number, line in records(path, stdin):
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("a record must be a JSON object")
                result: dict[str, Any] = enrich(to_article(record), settings.enricher).model_dump(
                    mode="json"
                )
            except (ValueError, ValidationError) as exc:
                failed += 1
                result = {"source": f"{path}:{number}", "error": str(exc)[:500]}
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
    return failed
