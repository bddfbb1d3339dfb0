"""The feeds file (state.registry): each feed's `pages` mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.errors import ConfigError
from services.fetcher.state.registry import load_feeds_file


def test_feeds_file_sets_pages_per_feed(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - url: http://a.example/f\n    pages: never\n"
        "  - url: http://b.example/f\n  - http://c.example/f\n"
    )
    records = load_feeds_file(path, "http://seeds")
    assert [r.pages for r in records] == ["never", None, None]
    path.write_text("feeds:\n  - url: http://a.example/f\n    pages: sometimes\n")
    with pytest.raises(ConfigError, match="pages"):
        load_feeds_file(path, "http://seeds")
