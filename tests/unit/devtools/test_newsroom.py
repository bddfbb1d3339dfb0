"""The seed newsroom: committed files match seeds/newsroom.yaml, its feeds parse with the
fetcher's own parser from the real seed server, and a revised page changes after its first GET."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from services.devtools import newsroom, seedserver
from services.fetcher.parse.dispatch import parse_feed
from services.fetcher.state.registry import load_feeds_file
from tests.conftest import SEEDS


def test_committed_pages_and_feeds_are_what_the_yaml_renders() -> None:
    files = newsroom.render(newsroom.load())
    assert newsroom.stale_files(files) == [], "run: python -m services.devtools.newsroom"
    assert newsroom.main(["--check"]) == 0


def test_stale_files_names_a_changed_or_missing_file(tmp_path: Path) -> None:
    files = {"feeds/a.xml": "<rss/>", "site/x/b.html": "<p>b</p>"}
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "a.xml").write_text("<rss>old</rss>")
    assert newsroom.stale_files(files, tmp_path) == ["feeds/a.xml", "site/x/b.html"]


def test_ground_truth_has_what_the_demo_needs() -> None:
    room = newsroom.load()
    assert 5 <= len(room.outlets) <= 6
    assert {o.feed_format for o in room.outlets.values()} == {"rss", "atom", "json"}
    assert len(room.articles) >= 24
    multi = {story: arts for story, arts in room.stories().items() if len(arts) > 1}
    # Events covered independently by several outlets (not copies of each other).
    events = [
        arts
        for arts in multi.values()
        if not any(a.copy_of or a.near_copy_of for a in arts) and len({a.outlet for a in arts}) >= 3
    ]
    assert len(events) >= 3
    (group,) = room.copy_groups()
    assert sum(1 for a in group if a.copy_of) >= 2 and sum(1 for a in group if a.near_copy_of) == 1
    assert len({a.outlet for a in group}) == len(group), "each copy under its own outlet"
    assert len({a.path for a in room.articles}) == len(room.articles)
    revised = [a for a in room.articles if a.revision is not None]
    assert len(revised) == 1 and revised[0].revision is not None
    assert revised[0].revision.text != revised[0].text


def test_a_near_copy_edit_must_match_exactly_once(tmp_path: Path) -> None:
    text = (
        (SEEDS / "newsroom.yaml")
        .read_text()
        .replace('["More than 60 people, many of them"', '["No such sentence in the original"')
    )
    (tmp_path / "newsroom.yaml").write_text(text)
    with pytest.raises(newsroom.NewsroomError, match="exactly once"):
        newsroom.load(tmp_path / "newsroom.yaml")


def test_feeds_file_lists_every_outlet_feed() -> None:
    urls = {r.url for r in load_feeds_file(SEEDS / "feeds.yaml", "http://seeds.test")}
    for outlet in newsroom.load().outlets.values():
        assert f"http://seeds.test/{outlet.feed_path}" in urls


@pytest.fixture
async def seeds_base() -> AsyncIterator[str]:
    runner, base = await seedserver.start(SEEDS)
    yield base
    await runner.cleanup()


async def test_each_outlet_feed_parses_and_links_its_articles(seeds_base: str) -> None:
    room = newsroom.load()
    async with aiohttp.ClientSession() as session:
        for outlet in room.outlets.values():
            url = f"{seeds_base}/{outlet.feed_path}"
            async with session.get(url) as resp:
                assert resp.status == 200
                body, ctype = await resp.read(), resp.headers["Content-Type"]
            parsed = parse_feed(body, url=url, content_type=ctype)
            links = Counter(e.link for e in parsed.entries)
            own = [a for a in room.articles if a.outlet == outlet.slug]
            assert set(links) == {f"{seeds_base}/{a.path}" for a in own}, outlet.slug
            for article in own:
                # A revised article is listed twice (first published, then "Updated").
                assert links[f"{seeds_base}/{article.path}"] == (2 if article.revision else 1)
            assert len({e.entry_id for e in parsed.entries}) == len(parsed.entries)


async def test_revised_page_changes_after_its_first_get(seeds_base: str) -> None:
    (article,) = [a for a in newsroom.load().articles if a.revision is not None]
    url = f"{seeds_base}/{article.path}"
    assert article.revision is not None
    async with aiohttp.ClientSession() as session:
        async with session.head(url) as resp:  # a HEAD does not count as the first fetch
            assert resp.status == 200
        bodies = []
        for _ in range(3):
            async with session.get(url) as resp:
                bodies.append(await resp.text())
                etag = resp.headers["ETag"]
        async with session.get(url, headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
    first_line = newsroom.paragraphs(article.text)[0]
    revised_line = newsroom.paragraphs(article.revision.text)[0]
    assert first_line in bodies[0] and revised_line not in bodies[0]
    assert revised_line in bodies[1] and bodies[1] == bodies[2]
    assert seeds_base in bodies[1] and "${SEEDS_URL}" not in bodies[1]
    # Each server starts from the first version again.
    runner, other = await seedserver.start(SEEDS)
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{other}/{article.path}") as r:
            assert first_line in await r.text()
    finally:
        await runner.cleanup()
