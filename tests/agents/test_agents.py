"""The agents' wiring, with Faust's test_context (no broker): decode, call, dead-letter, send.

What reaches the broker is covered by the integration and end-to-end tests; here the
StageApp's send is replaced by a list so the agent's decisions can be inspected.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from faust.types.tables import TableT

from services.common.models import Article, Entry, Page, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.common.topics import ARTICLES, DLQ, ENRICHED
from tests.conftest import SEED_TXT, serve_locally, validate_record

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
    return Page.direct("a1", entry, body, "text/plain")


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


def host_page(i: int, template: str) -> Page:
    """An article page on one host: its own paragraphs plus the site's template line."""
    body = (
        f"<html><body><article><h1>Story number {i}</h1>"
        f"<p>{template}</p>"
        + "".join(
            f"<p>Paragraph {j} of story {i} says something new about event {i * 7 + j}, "
            f"with enough words to count as body text in any extractor.</p>"
            for j in range(4)
        )
        + "</article></body></html>"
    )
    link = f"http://news.example/{i}"
    entry = Entry(entry_id=f"e{i}", feed_url="http://news.example/feed", link=link)
    return Page.direct(f"a{i}", entry, body, "text/html")


async def test_cleaner_agent_learns_a_sites_template_line_in_its_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.cleaner.app import build

    template = "The Example Ledger is read by more people in the valley than any other paper."
    settings = Settings(kafka_bootstrap="127.0.0.1:9", site_template_min_articles=4)
    sa = build(settings)
    sent = capture(monkeypatch, sa)
    async with sa.app.agents["clean-pages"].test_context() as ctx:
        for i in range(8):
            await ctx.put(key=f"a{i}".encode(), value=encode(host_page(i, template)))
    articles = [decode(Article, o.value) for o in sent]
    assert [a.id for a in articles] == [f"a{i}" for i in range(8)]
    # Not enough evidence yet: the first pages keep the line (a new site is not harmed).
    assert template in articles[0].text and "site_template" not in articles[0].removed_lines
    # Once the host's profile has seen it on enough pages, it is template.
    assert template not in articles[-1].text
    assert articles[-1].removed_lines.get("site_template") == 1
    assert "Paragraph 3 of story 7" in articles[-1].text
    sites = sa.app.tables["site-lines"]
    assert isinstance(sites, TableT)  # a CollectionT to the type checker
    assert "news.example" in sites


async def test_fetch_pages_does_not_hold_other_hosts_behind_a_busy_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More of one host's links than page requests in flight, then another host's: the
    other host's page is fetched while the busy host waits out its delays."""
    import asyncio

    from aiohttp import web

    from services.common.topics import PAGES
    from services.fetcher.app import build

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f"<p>{request.path}</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", page)
    runner, base = await serve_locally(app)
    port = base.rsplit(":", 1)[1]
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9",
        allow_private_networks=True,
        respect_robots=False,
        host_min_delay_seconds=0.3,
        page_concurrency=2,
    )
    sa = build(settings)
    sent = capture(monkeypatch, sa)
    busy, other = f"127.0.0.1:{port}", f"localhost:{port}"
    links = [(busy, f"http://{busy}/busy{n}") for n in range(4)] + [(other, f"http://{other}/x")]
    try:
        async with sa.app.agents["fetch-pages"].test_context() as ctx:
            for n, (host, link) in enumerate(links):
                entry = Entry(entry_id=f"e{n}", feed_url="http://f.example/feed", link=link)
                await ctx.put(key=host.encode(), value=encode(entry))
            for _ in range(600):  # up to 30 s on a loaded machine; ~1.2 s here
                if len(sent) == len(links):
                    break
                await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
    assert [o.topic for o in sent] == [PAGES.name] * len(links)
    fetched = [decode(Page, o.value).url for o in sent]
    # The other host's page came before the busy host's second (0.3 s after its first).
    assert fetched.index(f"http://{other}/x") <= 1, fetched
    assert [u for u in fetched if busy in u] == [link for host, link in links if host == busy]
