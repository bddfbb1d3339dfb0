"""Fixtures for tests that start Newswire's own services against the session's broker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.devtools.stack import Stack
from services.fetcher.bootstrap import remove_feed


@pytest.fixture
def stack(kafka_settings: Settings, tmp_path: Path) -> Iterator[Stack]:
    """A stack without a broker of its own or a seed server: tests start the services."""
    assert kafka_settings.kafka.bootstrap
    asyncio.run(ensure_topics(kafka_settings))
    st = Stack(kafka_settings.kafka.bootstrap, seeds_url="http://127.0.0.1:9", run_dir=tmp_path)
    try:
        yield st
    finally:
        st.stop()
        forget_feeds(kafka_settings, tmp_path / "feeds.yaml")


def forget_feeds(settings: Settings, feeds_file: Path) -> None:
    """Remove the feeds a test registered from newswire.feeds (compacted: they would
    stay registered for the rest of the session, and the next fetcher in the same
    group would track them too)."""
    if not feeds_file.exists():
        return
    listed = yaml.safe_load(feeds_file.read_text()) or {}
    for feed in listed.get("feeds") or []:
        url = feed if isinstance(feed, str) else feed["url"]
        asyncio.run(remove_feed(settings, url))
