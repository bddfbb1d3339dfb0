"""The verdict for one article, given what the dedup state already knows of its content."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.models import Verdict


@dataclass(frozen=True)
class FirstSeen:
    """The first article seen with a given content hash, and its story."""

    article_id: str
    story_id: str


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    duplicate_of: str | None
    story_id: str
    remember: FirstSeen | None  # what to store for this hash, when anything


def decide(article_id: str, first: FirstSeen | None) -> Decision:
    """Exact-content dedup.

    A replay of the first article itself (the same id: a redelivery after a
    crash) gets the same verdict again, so at-least-once delivery still gives
    one verdict per article by key.
    """
    if first is None:
        story = FirstSeen(article_id=article_id, story_id=article_id)
        return Decision("new", None, story.story_id, remember=story)
    if first.article_id == article_id:
        return Decision("new", None, first.story_id, remember=None)
    return Decision("duplicate", first.article_id, first.story_id, remember=None)
