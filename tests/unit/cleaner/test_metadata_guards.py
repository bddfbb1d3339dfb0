"""Metadata not to believe: placeholder dates, standfirsts as bylines, dates in bylines."""

from __future__ import annotations

from datetime import UTC, datetime

from services.cleaner.extract import extract_html
from services.cleaner.metadata import looks_like_byline, parse_date, split_authors
from services.cleaner.pipeline import article_from
from services.common.models import Entry
from tests.conftest import page_for

BODY = "".join(
    f"<p>Paragraph {i} of the story says something new about the harbour, "
    f"with enough words to count as body text in any extractor.</p>"
    for i in range(5)
)
NOW = datetime(2024, 3, 5, 12, tzinfo=UTC)


def _page(head: str = "", body: str = BODY) -> str:
    return (
        f"<html><head><title>Bakery closes</title>{head}</head>"
        f"<body><article><h1>Bakery closes</h1>{body}</article></body></html>"
    )


def _ld(fields: str) -> str:
    return (
        '<script type="application/ld+json">'
        f'{{"@type": "NewsArticle", "headline": "Bakery closes", {fields}}}</script>'
    )


def test_a_date_at_the_edge_of_the_range_is_dropped_not_raised() -> None:
    # astimezone(UTC) of year 1 at +01:00 overflows: it used to send the page to the DLQ.
    assert parse_date("0001-01-01T00:00:00+01:00") is None
    head = _ld(
        '"datePublished": "2024-03-05T10:00:00+01:00", "dateModified": "0001-01-01T00:00:00+01:00"'
    )
    r = extract_html(_page(head))
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
    head = _ld('"datePublished": "0001-01-01T00:00:00Z"') + (
        '<meta property="article:published_time" content="2024-03-01T08:00:00Z">'
    )
    r = extract_html(_page(head))
    assert (r.published, r.sources["published"]) == (datetime(2024, 3, 1, 8, tzinfo=UTC), "meta")


def test_a_zero_date_on_the_page_leaves_the_feed_date() -> None:
    zero = '<meta property="article:published_time" content="0001-01-01T00:00:00+00:00">'
    html = _page(zero)
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
        r = extract_html(_page(body=first + BODY))
        assert (r.authors, r.byline) == ([], None)
        assert r.paragraphs[0] in first


def test_the_byline_element_gives_names_without_its_date() -> None:
    byline = (
        '<div class="byline"><span class="byline__author">By Jane Doe</span> '
        '<span class="byline__date">Updated 10:42 AM EST, Tue March 5, 2024</span></div>'
    )
    assert extract_html(_page(body=byline + BODY)).authors == ["Jane Doe"]
    with_time = (
        '<p class="byline">By Jane Doe and John Roe, <time datetime="2024-03-05">March 5</time></p>'
    )
    assert extract_html(_page(body=with_time + BODY)).authors == ["Jane Doe", "John Roe"]
    # A date in the author's name slot is no author; neither is a bare "by".
    itemprop = (
        '<div itemprop="author"><span itemprop="name">By</span>'
        '<span itemprop="name">NOVEMBER 20, 2019 10:43</span></div>'
    )
    assert extract_html(_page(body=itemprop + BODY)).authors == []
    assert split_authors("Jane Doe, Published 10:02 AM EST Nov 19, 2019") == ["Jane Doe"]


def test_a_byline_line_in_the_body_gives_each_author() -> None:
    r = extract_html(_page(body="<p>By Jane Doe and John Roe</p>" + BODY))
    assert (r.byline, r.authors) == ("Jane Doe and John Roe", ["Jane Doe", "John Roe"])
    assert r.paragraphs[0].startswith("Paragraph 0")


def test_a_role_after_a_name_is_not_an_author_of_its_own() -> None:
    # The enricher would otherwise ban "Tokyo" and "Sports" as keywords of the author.
    assert split_authors("By Fumio Kishida, Tokyo bureau chief") == ["Fumio Kishida"]
    assert split_authors("By Jane Doe, Sports Desk") == ["Jane Doe"]
    assert split_authors("By Ana Lima, Reuters") == ["Ana Lima", "Reuters"]
    assert split_authors("News of War Staff Writer") == ["News of War Staff Writer"]
