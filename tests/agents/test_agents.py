"""The agents' wiring, with Faust's test_context (no broker): decode, call, dead-letter, send.

What reaches the broker is covered by the integration and end-to-end tests; here the
StageApp's send is replaced by a list so the agent's decisions can be inspected.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from services.common.models import Article, Entry, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import ARTICLES, DLQ, ENRICHED
from tests.conftest import SEED_TXT, validate_record

SETTINGS = Settings(kafka_bootstrap="127.0.0.1:9")


def capture(monkeypatch: pytest.MonkeyPatch, sa: Any) -> list[Output]:
    sent: list[Output] = []

    async def send(outputs: Sequence[Output], *, counted: bool = True) -> None:
        sent.extend(outputs)

    monkeypatch.setattr(sa, "send", send)
    return sent


def seed_page() -> Page:
    body = SEED_TXT.read_text()
    entry = Entry(entry_id="e1", feed_url="http://f.example/feed", link="http://f.example/a")
    return Page(
        article_id="a1",
        url=entry.link,
        final_url=entry.link,
        status=200,
        content_type="text/plain",
        body=body,
        body_bytes=len(body),
        entry=entry,
    )


async def test_cleaner_agent_dead_letters_poison_and_carries_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.cleaner.app import build

    sa = build(SETTINGS)
    sent = capture(monkeypatch, sa)
    agent = sa.app.agents["clean-pages"]
    async with agent.test_context() as ctx:
        await ctx.put(key=b"bad", value=b"\x00 not json")
        await ctx.put(key=b"a1", value=encode(seed_page()))
    assert [o.topic for o in sent] == [DLQ.name, ARTICLES.name]
    dead = json.loads(sent[0].value or b"")
    validate_record(DLQ.name, dead)
    assert (dead["stage"], dead["reason"], dead["key"]) == ("cleaner", "decode", "bad")
    article = decode(Article, sent[1].value)
    assert sent[1].key == b"a1" and article.byline == "News of War Staff Writer"
    assert "top of page" not in article.text


async def test_enricher_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.enricher.app import build

    sa = build(SETTINGS)
    sent = capture(monkeypatch, sa)
    article = Article(
        id="a1", url="http://f.example/a", text=SEED_TXT.read_text(), paragraphs=["x"]
    )
    async with sa.app.agents["enrich-articles"].test_context() as ctx:
        await ctx.put(key=b"a1", value=encode(article))
        await ctx.put(key=b"a2", value=b'{"id": "a2"}')  # JSON of the wrong shape
    assert [o.topic for o in sent] == [ENRICHED.name, DLQ.name]
    validate_record(ENRICHED.name, json.loads(sent[0].value or b""))
    assert json.loads(sent[1].value or b"")["reason"] == "schema"
