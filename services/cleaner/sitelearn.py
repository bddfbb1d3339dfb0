"""Per-site learned boilerplate: lines that recur across many pages of one host are its template.

Pure and bounded: a profile per host counts, for each short line fingerprint, on
how many distinct articles it appeared. A line counts as template only once the
host has shown enough distinct articles (evidence) and the line was on a large
share of them, so the first pages of a new site are never harmed. Re-fetches of
the same article are observed once, so an article cannot teach its own text away.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, Field

# Only short lines are template candidates: navigation, prompts, sign-offs.
MAX_LINE_CHARS = 300
MAX_LINES_PER_SITE = 1000
PRUNE_TO = 800
RECENT_ARTICLES = 256
WORD = re.compile(r"\w+")


class LearnSettings(BaseModel):
    min_articles: int = 8
    min_share: float = 0.5


class SiteProfile(BaseModel):
    """What one host's pages have shown so far (kept in the cleaner's table, keyed by host)."""

    articles: int = 0
    lines: dict[str, int] = Field(default_factory=dict)
    recent: list[str] = Field(default_factory=list)


def fingerprint(line: str) -> str | None:
    words = WORD.findall(line.casefold())
    if not words or len(line) > MAX_LINE_CHARS:
        return None
    return hashlib.blake2b(" ".join(words).encode(), digest_size=8).hexdigest()


def template_indices(profile: SiteProfile, paragraphs: list[str], cfg: LearnSettings) -> set[int]:
    """Indices of paragraphs the site's history marks as template (before this page counts)."""
    if profile.articles < cfg.min_articles:
        return set()
    threshold = max(2, int(cfg.min_share * profile.articles))
    out = set()
    for i, line in enumerate(paragraphs):
        fp = fingerprint(line)
        if fp is not None and profile.lines.get(fp, 0) >= threshold:
            out.add(i)
    return out


def observe(profile: SiteProfile, article_id: str, paragraphs: list[str]) -> SiteProfile:
    """Count this article's distinct short lines; a re-fetched article counts once."""
    if article_id in profile.recent:
        return profile
    fps = {fp for fp in map(fingerprint, paragraphs) if fp is not None}
    lines = dict(profile.lines)
    for fp in fps:
        lines[fp] = lines.get(fp, 0) + 1
    if len(lines) > MAX_LINES_PER_SITE:
        # Keep the most frequent lines: rare ones are content, not template.
        lines = dict(sorted(lines.items(), key=lambda kv: kv[1], reverse=True)[:PRUNE_TO])
    recent = [*profile.recent, article_id][-RECENT_ARTICLES:]
    return SiteProfile(articles=profile.articles + 1, lines=lines, recent=recent)


def apply(
    profile: SiteProfile, article_id: str, paragraphs: list[str], cfg: LearnSettings
) -> tuple[list[str], int, SiteProfile]:
    """(kept paragraphs, how many removed as template, the updated profile)."""
    drop = template_indices(profile, paragraphs, cfg)
    kept = [p for i, p in enumerate(paragraphs) if i not in drop]
    if not kept:
        # Never empty a page on learned evidence alone: keep it as extracted.
        kept, drop = paragraphs, set()
    return kept, len(drop), observe(profile, article_id, paragraphs)
