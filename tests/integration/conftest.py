"""Fixtures for tests that start Newswire's own services against the session's broker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.devtools.stack import Stack


@pytest.fixture
def stack(kafka_settings: Settings, tmp_path: Path) -> Iterator[Stack]:
    """A stack without a broker of its own or a seed server: tests start the services."""
    assert kafka_settings.kafka_bootstrap
    asyncio.run(ensure_topics(kafka_settings))
    st = Stack(kafka_settings.kafka_bootstrap, seeds_url="http://127.0.0.1:9", run_dir=tmp_path)
    try:
        yield st
    finally:
        st.stop()
