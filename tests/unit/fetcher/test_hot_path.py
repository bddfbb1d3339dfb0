"""The poll hot path's shortcuts give exactly what the long way gives.

StoredState leaves a feed's seen ids as JSON text; HttpClient remembers guard
checks that passed; caching and fastfeed skip work whose answer is known.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from aiohttp import web
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urifixer
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import BlockedAddressError, FetchError
from services.common.models import Entry, FeedPoll, decode, encode
from services.common.settings import Settings
from services.common.stage import Output
from services.fetcher.net import caching
from services.fetcher.net.http import HttpClient
from services.fetcher.parse import fastfeed
from services.fetcher.pipeline import poll_feed
from services.fetcher.state.feedstate import DEFER_SEEN_BYTES, FeedState, StoredState
from tests.conftest import serve_locally

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Text that looks like the keys StoredState splits on, to show values never confuse it.
TRICKY = st.sampled_from(['","seen":[', ',"seen":', ',"entry_times":', '"]}', "\\", "é", "\n"])
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=12)), max_size=4).map("".join)


def _state(seen: list[str], title: str | None = None, times: int = 2) -> FeedState:
    return FeedState(
        url="https://news.example/feed.xml",
        partition=1,
        title=title,
        etag='"abc"',
        validators_at=NOW,
        next_poll_at=NOW,
        entry_times=[NOW - timedelta(hours=h) for h in range(times)],
        seen=seen,
    )


def _big_seen(n: int = 400) -> list[str]:
    return [f"https://news.example/{i}/story.html" for i in range(n)]


@settings(max_examples=200, deadline=None, database=None)
@given(seen=st.lists(TEXT, max_size=120), title=st.one_of(st.none(), TEXT))
def test_stored_state_round_trips_any_state(seen: list[str], title: str | None) -> None:
    raw = _state(seen, title).model_dump_json()
    stored = StoredState(raw)
    assert stored.dump() == raw  # untouched: the same bytes back
    stored.state.not_modified_streak += 1
    again = FeedState.model_validate_json(stored.dump())
    assert again.seen == seen and again.title == title and again.not_modified_streak == 1
    assert StoredState(raw).seen_ids() == seen


def test_a_long_seen_list_is_neither_decoded_nor_encoded_by_a_304_poll() -> None:
    seen = _big_seen()
    raw = _state(seen).model_dump_json()
    assert len(raw) > DEFER_SEEN_BYTES
    stored = StoredState(raw)
    assert stored.state.seen == []  # deferred: still JSON text
    stored.state.not_modified_streak = 3
    written = stored.dump()
    assert written.endswith(raw[raw.index(',"seen":') :])  # copied, not re-encoded
    assert FeedState.model_validate_json(written) == _state(seen).model_copy(
        update={"not_modified_streak": 3}
    )


def test_new_entries_decode_the_seen_ids_and_store_them_all() -> None:
    seen = _big_seen()
    stored = StoredState(_state(seen).model_dump_json())
    assert stored.seen_ids() == seen
    stored.state.remember(["new-1", "new-2"], bound=2000)
    assert FeedState.model_validate_json(stored.dump()).seen == [*seen, "new-1", "new-2"]


def test_a_state_stored_by_the_previous_version_is_read_whole() -> None:
    """Before, `seen` was declared (so serialised) before entry_times."""
    seen = _big_seen()
    state = _state(seen, times=3)
    fields = state.model_dump(mode="json")
    order = [k for k in fields if k not in ("seen", "entry_times")] + ["seen", "entry_times"]
    old = json.dumps({k: fields[k] for k in order}, separators=(",", ":"), ensure_ascii=False)
    assert old.index(',"seen":') < old.index(',"entry_times":')
    stored = StoredState(old)
    assert stored.state == state and stored.state.seen == seen
    assert FeedState.model_validate_json(stored.dump()) == state


def _client(allow_private: bool) -> HttpClient:
    return HttpClient(Settings(allow_private_networks=allow_private))


def test_refused_urls_are_refused_every_time() -> None:
    client = _client(allow_private=False)
    for _ in range(2):
        with pytest.raises(BlockedAddressError):
            client._check("http://127.0.0.1/feed.xml")
        with pytest.raises(BlockedAddressError):
            client._check("http://[::ffff:10.0.0.1]/other.xml")  # host not checked yet
        with pytest.raises(FetchError) as bad:
            client._check("ftp://news.example/feed.xml")
        assert bad.value.reason == "bad_url"
    client._check("http://news.example/feed.xml")  # names are checked when resolved
    client._check("http://news.example/feed.xml")


def test_checks_that_passed_are_kept_per_client() -> None:
    allowed = _client(allow_private=True)
    allowed._check("http://127.0.0.1:8080/a.xml")
    allowed._check("http://127.0.0.1:8080/b.xml")  # same host: known
    assert allowed._checked_hosts == {"127.0.0.1"}
    with pytest.raises(BlockedAddressError):  # another client, other settings
        _client(allow_private=False)._check("http://127.0.0.1:8080/a.xml")
    with pytest.raises(BlockedAddressError):  # never allowed, whatever the settings
        allowed._check("http://0.0.0.0/a.xml")


@pytest.mark.parametrize(
    "value",
    ["", "max-age=60", "no-cache", "public, max-age=300", 'max-age="90", no-store', "s-maxage=5"],
)
def test_cache_control_answers_do_not_change_when_repeated(value: str) -> None:
    headers = {"cache-control": value}
    first = (caching.max_age_seconds(headers), caching.validators_trusted(headers, NOW))
    assert (caching.max_age_seconds(headers), caching.validators_trusted(headers, NOW)) == first


URL_TEXT = st.text(alphabet="ab:/&<>;#1 .+-Zé%", max_size=16)


@settings(max_examples=500, deadline=None, database=None)
@given(prefix=st.sampled_from(["", "http://", "https:///", "a+b-c.d:////", "1x://"]), rest=URL_TEXT)
def test_uri_fix_matches_feedparser(prefix: str, rest: str) -> None:
    text = prefix + rest
    expected = str(_urifixer.sub(r"\1\3", text)) if "://" in text else text
    assert fastfeed._uri(text) == expected


@settings(max_examples=500, deadline=None, database=None)
@given(text=st.text(alphabet="ab</>&#;1 pé", max_size=20))
def test_html_test_matches_feedparser(text: str) -> None:
    assert fastfeed._looks_like_html(text) == bool(_FeedParserMixin.looks_like_html(text))


def test_xml_base_is_still_refused() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        '<title>t</title><item xml:base="http://other.example/"><title>a</title>'
        f"<link>/{quote('a b')}</link></item></channel></rss>"
    ).encode()
    assert fastfeed.parse_fast(body, url="http://news.example/f.xml") is None


@pytest.fixture
async def feed_server() -> AsyncIterator[str]:
    """One RSS feed with an ETag, answering 304 to it."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        + "".join(
            f"<item><title>Story {i}</title><link>https://news.example/{i}/story.html</link>"
            f"<guid>https://news.example/{i}/story.html</guid></item>"
            for i in (398, 399, 400, 401)
        )
        + "</channel></rss>"
    ).encode()

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    runner, base = await serve_locally(app)
    yield f"{base}/feed.xml"
    await runner.cleanup()


async def test_polls_keep_a_long_seen_list_whole(feed_server: str) -> None:
    settings_ = Settings(allow_private_networks=True)
    table = {
        feed_server: _state(_big_seen())
        .model_copy(update={"url": feed_server, "etag": None})
        .model_dump_json()
    }
    client = HttpClient(settings_)

    async def poll() -> list[Output]:
        command = encode(FeedPoll(url=feed_server, partition=1))
        return await poll_feed(command, table=table, client=client, settings=settings_)

    try:
        first = await poll()
        assert [decode(Entry, o.value).link for o in first] == [
            "https://news.example/400/story.html",
            "https://news.example/401/story.html",
        ]
        after_new = table[feed_server]
        assert await poll() == []
        after_304 = table[feed_server]
    finally:
        await client.close()
    seen = [
        *_big_seen(),
        "https://news.example/400/story.html",
        "https://news.example/401/story.html",
    ]
    assert FeedState.model_validate_json(after_new).seen == seen
    state = FeedState.model_validate_json(after_304)  # as `newswire feeds` reads it
    assert state.seen == seen and state.not_modified_streak == 1 and state.last_status == 304
    assert after_304.endswith(after_new[after_new.index(',"seen":') :])


def test_seen_is_the_last_field() -> None:
    """StoredState defers the ids only when they end the stored JSON: a field declared
    after `seen` would be stored twice (once in the head, once after the ids)."""
    assert list(FeedState.model_fields)[-2:] == ["entry_times", "seen"]
