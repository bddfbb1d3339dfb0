"""JSON Feed 1.0 and 1.1 documents to entries. Pure, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from services.common.errors import FeedParseError
from services.common.urls import web_url
from services.fetcher.parse.model import ParsedEntry, ParsedFeed, digest, text_as_html, unique_id


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def parse_json_feed(body: bytes) -> ParsedFeed:
    """JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedParseError(f"invalid JSON feed: {exc}"[:300]) from exc
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedParseError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError("JSON Feed without an items list")
    entries: list[ParsedEntry] = []
    used: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        candidates = (item.get("url"), item.get("external_url"))
        link = next((u for c in candidates if isinstance(c, str) and (u := web_url(c))), None)
        if link is None:
            continue
        guid = _text(item.get("id")) if not isinstance(item.get("id"), int) else str(item["id"])
        title = _text(item.get("title"))
        summary = _text(item.get("summary")) or _text(item.get("content_text"))
        content_text = _text(item.get("content_text"))
        content = _text(item.get("content_html")) or (
            text_as_html(content_text) if content_text else None
        )
        entry_id = unique_id(guid or link or digest(title, summary), link, title, summary, used)
        if entry_id is None:
            continue
        people = item.get("authors") or (
            [item["author"]] if isinstance(item.get("author"), dict) else []
        )
        if not isinstance(people, list):
            people = []
        authors = [str(a["name"]) for a in people if isinstance(a, dict) and a.get("name")]
        entries.append(
            ParsedEntry(
                entry_id=entry_id,
                link=link,
                guid=guid,
                title=title,
                summary=summary,
                authors=authors,
                published=_iso(item.get("date_published")),
                updated=_iso(item.get("date_modified")),
                content=content,
            )
        )
    return ParsedFeed(title=_text(doc.get("title")), ttl_seconds=None, entries=entries)
