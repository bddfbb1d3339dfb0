"""Metadata from JSON-LD, meta tags and text, each with its source, on hand-written pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.cleaner import jsonld
from services.cleaner.extract import extract_html
from services.cleaner.metadata import split_authors
from services.cleaner.pipeline import article_from
from services.common.models import Entry
from tests.conftest import page_for

BODY = "".join(
    f"<p>Paragraph {i} of the story says something new about the harbour, "
    f"with enough words to count as body text in any extractor.</p>"
    for i in range(5)
)

META = """
<meta property="og:title" content="Meta Title">
<meta property="og:site_name" content="Meta Site">
<meta name="author" content="Meta Author">
<meta property="article:published_time" content="2024-01-02T03:04:05Z">
<meta property="article:modified_time" content="2024-01-03T00:00:00+01:00">
<meta property="article:section" content="Meta Section">
<meta property="article:tag" content="harbour">
<meta property="article:tag" content="ships">
<meta property="og:image" content="/img/meta.jpg">
<meta property="og:url" content="https://example.org/og-url">
"""

LD = """{
  "@context": "https://schema.org",
  "@type": "NewsArticle",
  "headline": "LD Headline",
  "author": [{"@type": "Person", "name": "Ada Lovelace"}, "Charles Babbage"],
  "datePublished": "2024-02-01T10:00:00+02:00",
  "dateModified": "2024-02-02T10:00:00Z",
  "publisher": {"@type": "Organization", "name": "LD Times"},
  "image": {"@type": "ImageObject", "url": "https://example.org/ld.jpg"},
  "articleSection": ["Harbours", "Local"],
  "keywords": "ports, tides",
  "inLanguage": "de-DE",
  "mainEntityOfPage": {"@type": "WebPage", "@id": "https://example.org/ld-url"}
}"""


def page(head: str = "", body: str = BODY, lang: str = "en") -> str:
    return (
        f'<html lang="{lang}"><head><title>Page Title | Site</title>{head}</head>'
        f"<body><article><h1>Heading Title</h1>{body}</article></body></html>"
    )


def ld(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'


def test_json_ld_wins_over_meta_and_text() -> None:
    head = META + ld(LD) + '<link rel="canonical" href="https://example.org/canonical">'
    r = extract_html(page(head))
    assert r.title == "LD Headline"
    assert r.authors == ["Ada Lovelace", "Charles Babbage"]
    assert r.byline == "Ada Lovelace, Charles Babbage"
    assert r.published == datetime(2024, 2, 1, 8, tzinfo=UTC)
    assert r.modified == datetime(2024, 2, 2, 10, tzinfo=UTC)
    assert (r.site, r.section, r.tags) == ("LD Times", "Harbours", ["ports", "tides"])
    assert r.top_image == "https://example.org/ld.jpg"
    assert r.language_hint == "de"
    # The publisher's <link rel=canonical> is preferred over JSON-LD's page URL.
    assert r.canonical_url == "https://example.org/canonical"
    assert r.sources == {
        "title": "json-ld",
        "authors": "json-ld",
        "published": "json-ld",
        "modified": "json-ld",
        "site": "json-ld",
        "canonical_url": "meta",
        "top_image": "json-ld",
        "section": "json-ld",
        "tags": "json-ld",
        "language": "json-ld",
    }
    # Every title the page gives is a headline, not body text, where it opens the body.
    assert not any("Title" in p for p in r.paragraphs)


def test_meta_tags_win_over_text() -> None:
    r = extract_html(page(META))
    assert (r.title, r.authors, r.site, r.section) == (
        "Meta Title",
        ["Meta Author"],
        "Meta Site",
        "Meta Section",
    )
    assert r.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert r.modified == datetime(2024, 1, 2, 23, tzinfo=UTC)
    assert (r.tags, r.top_image, r.canonical_url) == (
        ["harbour", "ships"],
        "/img/meta.jpg",
        "https://example.org/og-url",
    )
    assert set(r.sources.values()) == {"meta"}


def test_text_only_page() -> None:
    body = (
        '<p class="byline">By Jane Doe and John Roe</p>'
        '<time datetime="2023-05-06T07:08:09Z">May 6</time>' + BODY
    )
    r = extract_html(page(body=body))
    assert r.title == "Heading Title"
    assert r.authors == ["Jane Doe", "John Roe"]
    assert r.published == datetime(2023, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert r.sources["title"] == "text" and r.sources["authors"] == "text"
    assert r.sources["published"] == "text" and r.sources["language"] == "meta"
    assert not any("Jane Doe" in p for p in r.paragraphs)


def test_graph_with_references_is_resolved() -> None:
    graph = """{"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "@id": "https://example.org/#site", "name": "Graph Site"},
      {"@type": "Person", "@id": "https://example.org/#p1", "name": "Grace Hopper"},
      {"@type": ["BlogPosting"], "headline": "Graph Headline",
       "author": {"@id": "https://example.org/#p1"},
       "image": ["https://example.org/a.jpg", "https://example.org/b.jpg"],
       "datePublished": "2022-03-04"}
    ]}"""
    r = extract_html(page(ld(graph)))
    assert (r.title, r.authors, r.site) == ("Graph Headline", ["Grace Hopper"], "Graph Site")
    assert r.published == datetime(2022, 3, 4, tzinfo=UTC)
    assert r.top_image == "https://example.org/a.jpg"


def test_list_of_documents_and_non_article_types() -> None:
    docs = (
        '[{"@type": "BreadcrumbList", "name": "Crumbs"},'
        ' {"@type": "ReportageNewsArticle", "headline": "Report", "author": "Kim Lee"}]'
    )
    r = extract_html(page(ld(docs)))
    assert (r.title, r.authors) == ("Report", ["Kim Lee"])


def test_broken_json_ld_is_repaired_or_skipped() -> None:
    repairable = '<!-- {"@type": "Article", "headline": "Fixed\nHeadline", "author": "A B",} -->'
    r = extract_html(page(META + ld(repairable)))
    assert r.title == "Fixed Headline" and r.sources["title"] == "json-ld"
    r = extract_html(page(META + ld('{"@type": "Article", "headline": ')))
    assert r.title == "Meta Title" and r.sources["title"] == "meta"
    assert jsonld.loads("{{{") is None
    assert jsonld.loads("[" * 100_000) is None


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("News of War Staff Writer", ["News of War Staff Writer"]),
        ("By Jane Doe, John Roe and Kim Lee", ["Jane Doe", "John Roe", "Kim Lee"]),
        ("Jane Doe & John Roe", ["Jane Doe", "John Roe"]),
        ("Jane Doe, Staff Writer", ["Jane Doe"]),
        ("Doe, Jane", ["Doe, Jane"]),
    ],
)
def test_split_authors(byline: str, authors: list[str]) -> None:
    assert split_authors(byline) == authors


def test_article_falls_back_to_the_feed_and_says_so() -> None:
    entry = Entry(
        entry_id="e",
        feed_url="https://example.org/feed",
        link="https://example.org/story",
        title="Feed Title",
        authors=["Feed Author"],
        published=datetime(2020, 1, 1, tzinfo=UTC),
    )
    html = f"<html><body><article>{BODY}</article></body></html>"
    article = article_from(page_for(entry, html), extract_html(html))
    assert (article.title, article.authors, article.byline) == (
        "Feed Title",
        ["Feed Author"],
        "Feed Author",
    )
    assert article.metadata_sources == {
        "authors": "feed",
        "published": "feed",
        "site": "url",
        "title": "feed",
    }
    with_meta = page(META)
    article = article_from(page_for(entry, with_meta), extract_html(with_meta))
    assert article.top_image == "https://example.org/img/meta.jpg"  # resolved against the URL
    assert article.metadata_sources["title"] == "meta"


def test_the_feed_date_beats_a_date_guessed_from_the_text() -> None:
    feed_date = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
    entry = Entry(
        entry_id="e",
        feed_url="https://example.org/feed",
        link="https://example.org/story",
        published=feed_date,
    )
    # No date markup; the only date in the text is an old one in a sidebar.
    html = (
        f"<html><body><article>{BODY}</article>"
        '<aside><time datetime="2016-01-12">Jan 12</time></aside></body></html>'
    )
    extracted = extract_html(html)
    assert extracted.sources.get("published") == "text"  # htmldate found that one
    article = article_from(page_for(entry, html), extracted)
    assert article.published == feed_date and article.metadata_sources["published"] == "feed"
    # Date markup on the page still wins over the feed.
    with_meta = page(META)
    article = article_from(page_for(entry, with_meta), extract_html(with_meta))
    assert article.metadata_sources["published"] == "meta"
