"""The cleaner's transform as its agent runs it: the stage settles the outcome."""

from __future__ import annotations

from collections.abc import MutableMapping

from services.cleaner.extract import extract
from services.cleaner.pipeline import STAGE, Extractor, handle_page
from services.common.settings import CleanerSettings
from services.common.stage import Output, Source, Stage

SOURCE = Source("newswire.pages", 1, 7, b"key")


async def clean_record(
    raw: bytes | None,
    config: CleanerSettings,
    sites: MutableMapping[str, str] | None = None,
    *,
    extractor: Extractor = extract,
    source: Source = SOURCE,
) -> list[Output]:
    """`handle_page`'s outputs with its failures dead-lettered in their places and its
    counts applied, as `Stage.handle` does for the agent; an exception (no article at
    all) is raised, not dead-lettered, so tests can name it."""
    outcome = await handle_page(raw, config, sites, extractor=extractor)
    return Stage(STAGE).settle(source, raw, outcome)
