"""Fixtures the fetcher's tests share across their sub-packages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.fetcher.misbehaving import Servers, serve_misbehaving


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """The misbehaving servers on 127.0.0.1, once per test module."""
    with serve_misbehaving() as found:
        yield found
