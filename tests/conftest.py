"""Shared fixtures. Markers come from the folder: tests/unit -> unit, and so on."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from jsonschema import Draft202012Validator

from services.common.models import Article, Entry, Page
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topics import BY_NAME

SEEDS = PROJECT_ROOT / "seeds"
SEED_TXT = SEEDS / "000_1f0e606ef3d1bead.txt"
SEED_HTML = SEEDS / "site" / "newsofwar" / "post" / "intense-truce-talks-underway.html"
FIRST_PARAGRAPH_START = "In high-stakes negotiations, the United States has disclosed"
LAST_PARAGRAPH_END = "though an official agreement is yet to be confirmed."


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(PROJECT_ROOT / "tests").parts
        if parts and parts[0] in ("unit", "agents", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, parts[0]))


@cache
def _validator(schema_file: str) -> Draft202012Validator:
    schema = json.loads((PROJECT_ROOT / "schemas" / schema_file).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_record(topic: str, value: Any) -> None:
    """Fail the test when `value` does not satisfy `topic`'s JSON Schema contract."""
    errors = sorted(_validator(BY_NAME[topic].schema).iter_errors(value), key=str)
    assert not errors, (
        f"{topic} record violates its schema: {errors[0].message} at {list(errors[0].path)}"
    )


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka broker for the session: NEWSWIRE_KAFKA_BOOTSTRAP's, or a local KRaft node."""
    from services.devtools.broker import running_broker

    with running_broker() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def kafka_settings(kafka_bootstrap: str) -> Settings:
    return Settings(kafka_bootstrap=kafka_bootstrap)


@pytest.fixture
def seed_html() -> str:
    return SEED_HTML.read_text()


@pytest.fixture
def seed_text() -> str:
    return SEED_TXT.read_text()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("NEWSWIRE_"):
            monkeypatch.delenv(key)


async def serve_locally(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on a free port of 127.0.0.1: its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def get_json(url: str) -> tuple[int, Any]:
    """Status and JSON body of a GET, or (0, error name) when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
    except OSError as err:
        return 0, type(err).__name__


def page_for(entry: Entry, body: str, content_type: str = "text/html") -> Page:
    """The page the fetcher would make of `entry`'s link: 200, no redirects."""
    return Page(
        article_id="a1",
        url=entry.link,
        final_url=entry.link,
        status=200,
        content_type=content_type,
        body=body,
        body_bytes=len(body),
        entry=entry,
    )


def seed_article() -> Article:
    """The seed page's article as the cleaner extracts it (the enricher's tests' input)."""
    from services.cleaner.extract import extract_plain

    ext = extract_plain(SEED_TXT.read_text())
    return Article(
        id="a1",
        url="http://example.com/a",
        title=ext.title,
        byline=ext.byline,
        text="\n\n".join(ext.paragraphs),
        paragraphs=ext.paragraphs,
    )
