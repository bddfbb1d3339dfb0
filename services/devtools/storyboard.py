"""What `newswire run` prints: each story record as it arrives, and the stories grouped.

Pure: records (the JSON of newswire.stories) in, lines of text out. A record's line
names the story it went to by a short number (story 1, 2, ... in order of first sight)
so a reader can follow a story without 32-character ids; `render` lists every story
with its articles' outlets and verdicts, the stories of several articles first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

OUTLET_WIDTH = 26
TITLE_WIDTH = 72


@dataclass
class Entry:
    article_id: str
    outlet: str
    title: str
    verdict: str
    match: str
    version: int


@dataclass
class Story:
    number: int
    story_id: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.entries[0].title

    @property
    def articles(self) -> int:
        """Distinct articles (an update is a new version of one already counted)."""
        return len({e.article_id for e in self.entries})


def outlet_of(article: dict[str, Any]) -> str:
    site = article.get("site")
    if isinstance(site, str) and site.strip():
        return site.strip()
    return urlsplit(str(article.get("url") or "")).netloc or "?"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _describe(entry: Entry) -> str:
    """A verdict as a reader would say it: `duplicate (same text)`, `update v2`."""
    if entry.verdict == "duplicate":
        how = {"hash": "same text", "near": "near copy", "url": "same URL"}.get(entry.match)
        return f"duplicate ({how})" if how else "duplicate"
    if entry.verdict == "update":
        return f"update v{entry.version}"
    return entry.verdict


class StoryBoard:
    def __init__(self) -> None:
        self.stories: dict[str, Story] = {}
        self.verdicts: Counter[str] = Counter()
        self.changed = False
        self._seen: set[tuple[str, int]] = set()
        self._by_article: dict[str, Entry] = {}

    def add(self, value: Any) -> str | None:
        """Take one record; the line to print for it, or None (not a story record, or
        one already taken: the topic is read at least once)."""
        if not isinstance(value, dict) or "verdict" not in value or "story_id" not in value:
            return None
        article = value.get("article") or {}
        version = int(value.get("version") or 1)
        key = (str(value["article_id"]), version)
        if key in self._seen:
            return None
        self._seen.add(key)
        entry = Entry(
            article_id=key[0],
            outlet=outlet_of(article),
            title=str(article.get("title") or article.get("url") or key[0]),
            verdict=str(value["verdict"]),
            match=str(value.get("match") or "none"),
            version=version,
        )
        story = self.stories.get(value["story_id"])
        if story is None:
            story = self.stories[value["story_id"]] = Story(
                len(self.stories) + 1, value["story_id"]
            )
        story.entries.append(entry)
        self.verdicts[entry.verdict] += 1
        self.changed = True
        note = self._note(entry, story, value.get("duplicate_of"), value.get("size_change"))
        self._by_article.setdefault(entry.article_id, entry)
        outlet = _cut(entry.outlet, OUTLET_WIDTH)
        head = f"{_describe(entry):22} story {story.number:<3} {outlet:{OUTLET_WIDTH}}"
        return f"{head} {_cut(entry.title, TITLE_WIDTH)}{note}"

    def _note(self, entry: Entry, story: Story, original: Any, size_change: Any) -> str:
        if entry.verdict == "duplicate":
            first = self._by_article.get(str(original))
            return f"  <- copy of {first.outlet}'s" if first is not None else ""
        if entry.verdict == "update":
            change = int(size_change or 0)
            return f"  <- revised at the same URL ({change:+d} characters)"
        if len(story.entries) > 1:
            outlets = len({e.outlet for e in story.entries})
            return f"  <- joins story {story.number}: {story.articles} articles, {outlets} outlets"
        return ""

    def render(self) -> list[str]:
        """Every story so far: those of several articles (or versions) with each one's
        outlet and verdict, then the single ones, one line each."""
        self.changed = False
        total = sum(self.verdicts.values())
        counts = ", ".join(f"{v} {n}" for v, n in sorted(self.verdicts.items()))
        lines = [f"== {len(self.stories)} stories from {total} story records ({counts}) =="]
        grouped = [s for s in self.stories.values() if len(s.entries) > 1]
        single = [s for s in self.stories.values() if len(s.entries) == 1]
        for story in sorted(grouped, key=lambda s: (-len(s.entries), s.number)):
            size = f"{story.articles} article{'s' if story.articles != 1 else ''}"
            if len(story.entries) > story.articles:
                size += f", {len(story.entries)} versions"
            lines.append(f"story {story.number:<3} {size:11} {_cut(story.title, TITLE_WIDTH)}")
            lines.append(" " * 22 + " · ".join(f"{e.outlet} {_describe(e)}" for e in story.entries))
        for story in single:
            entry = story.entries[0]
            lines.append(
                f"story {story.number:<3} {'1 article':11} {_cut(entry.title, TITLE_WIDTH)}"
                f"  ({entry.outlet}, {_describe(entry)})"
            )
        return lines
