from __future__ import annotations

import pytest

from services.common.urls import article_id, canonical_url, host_of


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a/b/?utm_source=rss&utm_medium=feed#top", "http://example.com/a/b"),
        ("https://example.com:443/x?b=2&a=1&fbclid=zz&gclid=1", "https://example.com/x?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:8443//p//q", "https://example.com:8443/p/q"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_article_id_is_stable_across_tracking_variants() -> None:
    a = article_id("https://news.example/post/1?utm_source=x")
    assert a == article_id("https://NEWS.example/post/1/#comments")
    assert a != article_id("https://news.example/post/2")
    assert len(a) == 32


def test_host_of() -> None:
    assert host_of("http://127.0.0.1:8080/a") == "127.0.0.1:8080"
    assert host_of("https://Example.com/a") == "example.com"
