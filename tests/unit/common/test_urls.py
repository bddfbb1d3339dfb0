from __future__ import annotations

import pytest

from services.common.urls import article_id, canonical_url, host_of, registrable_domain


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a/b/?utm_source=rss&utm_medium=feed#top", "http://example.com/a/b"),
        ("https://example.com:443/x?b=2&a=1&fbclid=zz&gclid=1", "https://example.com/x?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:8443//p//q", "https://example.com:8443/p/q"),
        (
            "https://example.com/p?mc_cid=1&mc_eid=2&igshid=3&_ga=4&yclid=5&msclkid=6",
            "https://example.com/p",
        ),
        ("https://example.com/p?ref=tw&ref_src=twsrc&id=7", "https://example.com/p?id=7"),
        ("https://example.com/news/index.html", "https://example.com/news"),
        ("https://example.com/news/index.php", "https://example.com/news"),
        ("https://example.com/news/default.aspx", "https://example.com/news"),
        ("https://example.com/index.html", "https://example.com/"),
        ("https://example.com/story/amp", "https://example.com/story"),
        ("https://example.com/story/amp/", "https://example.com/story"),
        ("https://example.com/amp/story/1", "https://example.com/story/1"),
        ("https://example.com/story.amp.html", "https://example.com/story.html"),
        ("https://example.com/story?amp", "https://example.com/story"),
        ("https://example.com/story?amp=1&x=2", "https://example.com/story?x=2"),
        ("https://example.com/story?outputType=amp", "https://example.com/story"),
        ("https://amp.example.com/story", "https://example.com/story"),
        ("https://m.example.com/story", "https://example.com/story"),
        ("https://mobile.example.co.uk/story", "https://example.co.uk/story"),
        ("https://m.co.uk/story", "https://m.co.uk/story"),  # the site itself, not a variant
        ("https://www.example.com/story", "https://www.example.com/story"),
        ("https://example.com/ample", "https://example.com/ample"),
        ("https://example.com/p?outputType=json", "https://example.com/p?outputType=json"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_rel_canonical_wins_on_the_same_site_only() -> None:
    page = "https://m.example.com/a/b?utm_source=x"
    assert canonical_url(page, "https://www.example.com/a/b/") == "https://www.example.com/a/b"
    assert canonical_url(page, "/a/b?ref=1") == "https://example.com/a/b"
    assert canonical_url(page, "https://other.example/a/b") == "https://example.com/a/b"
    assert canonical_url(page, "javascript:alert(1)") == "https://example.com/a/b"
    assert canonical_url(page, "  ") == "https://example.com/a/b"


def test_registrable_domain() -> None:
    assert registrable_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("www.example.com") == "example.com"
    assert registrable_domain("EXAMPLE.com.") == "example.com"
    assert registrable_domain("127.0.0.1") == "127.0.0.1"
    assert registrable_domain("localhost") == "localhost"


def test_article_id_is_stable_across_variants() -> None:
    a = article_id("https://news.example/post/1?utm_source=x")
    assert a == article_id("https://NEWS.example/post/1/#comments")
    assert a == article_id("https://news.example/post/1/amp")
    assert a == article_id("https://m.news.example/post/1")
    assert a == article_id("https://x.news.example/p?id=9", "https://news.example/post/1")
    assert a != article_id("https://news.example/post/2")
    assert len(a) == 32 and int(a, 16) >= 0


def test_host_of() -> None:
    assert host_of("http://127.0.0.1:8080/a") == "127.0.0.1:8080"
    assert host_of("https://Example.com/a") == "example.com"
