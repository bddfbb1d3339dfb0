"""`newswire cluster`: JSON lines of articles in, one verdict line per article out, in order."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from services.common.settings import Settings
from services.dedup.config import DedupConfig, config_from
from services.dedup.engine import Deduper, Item, sequence_of_item


class BadRecord(ValueError):
    """A line that is not a JSON object with a string `id` and `text`."""


def _published(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_item(line: str) -> Item:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadRecord(f"not JSON: {exc.msg}") from exc
    if not isinstance(record, dict):
        raise BadRecord("not a JSON object")
    if not isinstance(record.get("id"), str) or not isinstance(record.get("text"), str):
        raise BadRecord("needs string fields id and text")
    entities = record.get("entities")

    def text_field(name: str) -> str | None:
        value = record.get(name)
        return value if isinstance(value, str) and value else None

    return Item(
        id=record["id"],
        text=record["text"],
        url=text_field("url"),
        canonical_url=text_field("canonical_url"),
        title=text_field("title"),
        published=_published(record.get("published")),
        language=text_field("language"),
        site=text_field("site"),
        feed_url=text_field("feed_url"),
        entities=[e for e in entities if isinstance(e, str)]
        if isinstance(entities, list)
        else None,
    )


def cluster_lines(lines: Iterable[str], config: DedupConfig) -> Iterator[dict[str, Any]]:
    """One output object per non-blank input line, in input order; a bad line gets an error.

    With story scopes (scope.py), each decision sequence is its own engine, as each is
    its own decider in the workers."""
    engines: dict[int, Deduper] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = parse_item(line)
        except BadRecord as exc:
            yield {"line": number, "error": str(exc)}
            continue
        sequence = sequence_of_item(item, config)
        engine = engines.get(sequence) or engines.setdefault(sequence, Deduper(config=config))
        result = engine.process(item)
        yield {
            "id": result.id,
            "verdict": result.verdict,
            "duplicate_of": result.duplicate_of,
            "story_id": result.story_id,
            "version": result.version,
            "similarity": result.similarity,
        }


def run(path: str, settings: Settings, out: IO[str] | None = None) -> int:
    """Cluster the articles of `path` ("-": stdin) with the agent's settings; bad lines."""
    out = out or sys.stdout
    bad = 0
    source: IO[str]
    source = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    try:
        for row in cluster_lines(source, config_from(settings)):
            bad += "error" in row
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if source is not sys.stdin:
            source.close()
    return bad
