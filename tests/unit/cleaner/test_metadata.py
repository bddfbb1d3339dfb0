"""services/cleaner/metadata.py: metadata from JSON-LD, meta tags and text, each with its
source, on hand-written pages, and the feed's where the page gives none; authors split from
bylines; and metadata not to believe (placeholder and future dates, standfirsts as bylines,
dates in bylines)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.cleaner.extract import extract_html
from services.cleaner.metadata import looks_like_byline, parse_date, split_authors
from services.cleaner.pipeline import article_from
from services.common.models import Entry
from tests.conftest import page_for
from tests.unit.cleaner.metapages import BODY, META, ld, page

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


# Metadata not to believe.

NOW = datetime(2024, 3, 5, 12, tzinfo=UTC)


def _bakery_page(head: str = "", body: str = BODY) -> str:
    return (
        f"<html><head><title>Bakery closes</title>{head}</head>"
        f"<body><article><h1>Bakery closes</h1>{body}</article></body></html>"
    )


def _bakery_ld(fields: str) -> str:
    return (
        '<script type="application/ld+json">'
        f'{{"@type": "NewsArticle", "headline": "Bakery closes", {fields}}}</script>'
    )


def test_a_date_at_the_edge_of_the_range_is_dropped_not_raised() -> None:
    # astimezone(UTC) of year 1 at +01:00 overflows: it used to send the page to the DLQ.
    assert parse_date("0001-01-01T00:00:00+01:00") is None
    head = _bakery_ld(
        '"datePublished": "2024-03-05T10:00:00+01:00", "dateModified": "0001-01-01T00:00:00+01:00"'
    )
    r = extract_html(_bakery_page(head))
    assert r.published == datetime(2024, 3, 5, 9, tzinfo=UTC)
    assert r.modified is None


def test_placeholder_and_future_dates_fall_through() -> None:
    assert parse_date("0001-01-01T00:00:00+00:00") is None  # Go's and Hugo's zero time
    assert parse_date("1970-01-01", now=NOW) is None  # Unix 0
    assert parse_date("1990-01-01", now=NOW) == datetime(1990, 1, 1, tzinfo=UTC)
    # Up to a day ahead is local time written as UTC; more is a mistake.
    assert parse_date("2024-03-06T11:00:00Z", now=NOW) == datetime(2024, 3, 6, 11, tzinfo=UTC)
    assert parse_date("2024-03-06T13:00:00Z", now=NOW) is None
    # A placeholder in JSON-LD gives way to the meta tag's date.
    head = _bakery_ld('"datePublished": "0001-01-01T00:00:00Z"') + (
        '<meta property="article:published_time" content="2024-03-01T08:00:00Z">'
    )
    r = extract_html(_bakery_page(head))
    assert (r.published, r.sources["published"]) == (datetime(2024, 3, 1, 8, tzinfo=UTC), "meta")


def test_a_zero_date_on_the_page_leaves_the_feed_date() -> None:
    zero = '<meta property="article:published_time" content="0001-01-01T00:00:00+00:00">'
    html = _bakery_page(zero)
    entry = Entry(
        entry_id="e",
        feed_url="https://example.org/feed",
        link="https://example.org/story",
        published=datetime(2024, 3, 5, 10, tzinfo=UTC),
    )
    page = page_for(entry, html)
    article = article_from(page, extract_html(html))
    assert article.published == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert article.metadata_sources["published"] == "feed"


def test_standfirsts_and_subheadings_are_not_bylines() -> None:
    for line in (
        "Inside the final days of a small-town newsroom",
        "By the numbers",
        "By far the biggest budget in a decade",
        "A look inside the news desk",
    ):
        assert not looks_like_byline(line), line
    for line in (
        "By Jane Doe",
        "by JANE DOE",
        "By J. R. Smith, Staff Writer",
        "By Ursula von der Leyen and Ahmed al-Hakim",
        "By Jane Doe in London",
        "By Jane Doe, staff writer",
        "News of War Staff Writer",
        "Sports desk",
    ):
        assert looks_like_byline(line), line


def test_a_standfirst_stays_in_the_body() -> None:
    for first in (
        '<p class="dek">Inside the final days of a small-town newsroom</p>',
        "<h2>By the numbers</h2>",
    ):
        r = extract_html(_bakery_page(body=first + BODY))
        assert (r.authors, r.byline) == ([], None)
        assert r.paragraphs[0] in first


def test_the_byline_element_gives_names_without_its_date() -> None:
    byline = (
        '<div class="byline"><span class="byline__author">By Jane Doe</span> '
        '<span class="byline__date">Updated 10:42 AM EST, Tue March 5, 2024</span></div>'
    )
    assert extract_html(_bakery_page(body=byline + BODY)).authors == ["Jane Doe"]
    with_time = (
        '<p class="byline">By Jane Doe and John Roe, <time datetime="2024-03-05">March 5</time></p>'
    )
    assert extract_html(_bakery_page(body=with_time + BODY)).authors == ["Jane Doe", "John Roe"]
    # A date in the author's name slot is no author; neither is a bare "by".
    itemprop = (
        '<div itemprop="author"><span itemprop="name">By</span>'
        '<span itemprop="name">NOVEMBER 20, 2019 10:43</span></div>'
    )
    assert extract_html(_bakery_page(body=itemprop + BODY)).authors == []
    assert split_authors("Jane Doe, Published 10:02 AM EST Nov 19, 2019") == ["Jane Doe"]


def test_a_byline_line_in_the_body_gives_each_author() -> None:
    r = extract_html(_bakery_page(body="<p>By Jane Doe and John Roe</p>" + BODY))
    assert (r.byline, r.authors) == ("Jane Doe and John Roe", ["Jane Doe", "John Roe"])
    assert r.paragraphs[0].startswith("Paragraph 0")


def test_a_role_after_a_name_is_not_an_author_of_its_own() -> None:
    # The enricher would otherwise ban "Tokyo" and "Sports" as keywords of the author.
    assert split_authors("By Fumio Kishida, Tokyo bureau chief") == ["Fumio Kishida"]
    assert split_authors("By Jane Doe, Sports Desk") == ["Jane Doe"]
    assert split_authors("By Ana Lima, Reuters") == ["Ana Lima", "Reuters"]
    assert split_authors("News of War Staff Writer") == ["News of War Staff Writer"]
