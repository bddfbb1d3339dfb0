"""Did the seeds' stories come out? Pure: newswire.stories values in, progress out.

`make test-image` runs the image's four services on the seeds (the original seed article
and its plain-text copy, and the newsroom of seeds/newsroom.yaml) and waits until each
story of several articles has all its articles decided under one story id. It checks
groups, not counts: how many records a run writes depends on which outlet's copy
arrives first, the grouping does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.common.urls import article_id
from services.devtools.newsroom import Newsroom

SEED_STORY = "seed"
SEED_ARTICLE_PATH = "/site/newsofwar/post/intense-truce-talks-underway.html"
SEED_COPY_PATH = "/000_1f0e606ef3d1bead.txt"


@dataclass(frozen=True)
class Expected:
    name: str
    article_ids: frozenset[str]


def expected_stories(base_url: str, room: Newsroom) -> list[Expected]:
    """The seed article with its copy, and every newsroom story of several articles,
    as article ids under the seed server's `base_url`."""
    base = base_url.rstrip("/")
    out = [
        Expected(
            SEED_STORY,
            frozenset(article_id(f"{base}{path}") for path in (SEED_ARTICLE_PATH, SEED_COPY_PATH)),
        )
    ]
    for story, articles in room.stories().items():
        if len(articles) > 1:
            ids = frozenset(article_id(f"{base}/{a.path.lstrip('/')}") for a in articles)
            out.append(Expected(story, ids))
    return out


@dataclass
class Progress:
    complete: list[str] = field(default_factory=list)
    # Every article there, but under more than one story id: no later record mends that.
    split: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)  # story -> articles not yet seen
    records: int = 0
    stories: int = 0

    @property
    def done(self) -> bool:
        return not self.waiting

    @property
    def ok(self) -> bool:
        return self.done and not self.split

    def summary(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "stories": self.stories,
            "checked": len(self.complete) + len(self.split),
            "complete": sorted(self.complete),
            "split": dict(sorted(self.split.items())),
            "waiting": dict(sorted(self.waiting.items())),
        }


def check(values: Iterable[Any], expected: Iterable[Expected]) -> Progress:
    """How far the expected stories are, from the records read so far (any order; an
    article's first record counts: a later version keeps its story)."""
    story_of: dict[str, str] = {}
    progress = Progress()
    story_ids: set[str] = set()
    for value in values:
        if not isinstance(value, dict) or "article_id" not in value or "story_id" not in value:
            continue
        progress.records += 1
        story_ids.add(str(value["story_id"]))
        story_of.setdefault(str(value["article_id"]), str(value["story_id"]))
    progress.stories = len(story_ids)
    for story in expected:
        missing = [a for a in story.article_ids if a not in story_of]
        if missing:
            progress.waiting[story.name] = len(missing)
            continue
        groups = {story_of[a] for a in story.article_ids}
        if len(groups) == 1:
            progress.complete.append(story.name)
        else:
            progress.split[story.name] = len(groups)
    return progress
