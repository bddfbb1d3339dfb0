"""The rescue: an article the cleaner's own pass loses is taken from trafilatura's default
extraction of the page as sent, one hand-made page per class of loss found on
trafilatura's evaluation set (a Blogger post cut to its date by precision mode; a page the
cleaner's own pruning leaves with no main text; a pull quote taken for the body)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import html as lxml_html

from services.cleaner import extract as extract_module
from services.cleaner import rescue
from services.cleaner.extract import Extracted, extract_html
from services.common import metrics
from services.common.models import Article, decode
from services.common.settings import Settings
from tests.unit.cleaner.staged import clean_record
from tests.unit.cleaner.test_limits import raw_page

POST = [
    "The attackers sent messages that looked like invoices from a known supplier to the "
    "finance teams of several firms in the region.",
    "Each message carried a link to a page that asked for the staff member's mailbox "
    "password and a telephone number for a second factor.",
    "Our analysts traced the pages to servers rented a week before the first message was "
    "sent, all of them paid for with the same stolen card.",
    "We have shared the indicators with other companies in the sector and with the "
    "national response team, which has warned its members.",
    "Customers who received such a message should report it to us and change their "
    "password at once, even if they did not type it in.",
    "The campaign is still running, and we will update this post as we learn more about "
    "who is behind it and how many people it reached.",
]
DATE = "Tuesday, March 5, 2024"
QUOTE = "“Stopping the programme overnight is a fatal signal for the climate,” the president said."

BLOGGER = (
    "<html><head><title>Security Blog: Invoice phishing</title></head><body>"
    "<div class='content'><div class='main-inner'>"
    f"<h2 class='date-header'><span>{DATE}</span></h2>"
    "<div class='post-outer'><div class='post hentry'>"
    "<h3 class='post-title entry-title'>Invoice phishing</h3>"
    "<div class='post-body entry-content' id='post-body-1'>"
    + "<br />".join(POST)
    + "</div><div class='post-footer'>Posted by Security Team at 10:00 AM</div>"
    "</div></div></div></div></body></html>"
)
PRESS_RELEASE = (
    "<html><head><title>Press release</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/press'>Press</a></nav>"
    f"<main><h1>Programme stopped</h1><blockquote class='pull-quote'>{QUOTE}</blockquote>"
    "<div class='article-text'>" + "".join(f"<p>{p}</p>" for p in POST) + "</div></main>"
    "<footer>© The Association</footer></body></html>"
)


def _doc(text: str) -> Any:
    """A trafilatura result holding `text` (what a lossy precision pass returns)."""
    body = lxml_html.fromstring(f"<body><p>{text}</p></body>")
    return type("Doc", (), {"text": text, "body": body})()


def test_precision_mode_cutting_a_blogger_post_to_its_date_is_rescued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What precision mode did to a corporate security blog's post: its date alone.
    monkeypatch.setattr(extract_module, "_main_text", lambda tree: _doc(DATE))
    result = extract_html(BLOGGER)
    assert result.rescued == "short"
    for sentence in POST:
        assert sentence in result.text
    assert result.text != DATE


def test_a_page_the_cleaners_own_pruning_empties_is_rescued_not_no_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cleaner's pre-processing took away every element trafilatura could use (a
    # German magazine article came out no_content that way).
    def prune_everything(tree: lxml_html.HtmlElement, removed: Any) -> lxml_html.HtmlElement:
        body = tree.find("body")
        for child in list(body):
            body.remove(child)
        return tree

    monkeypatch.setattr(extract_module, "strip_html", prune_everything)
    result = extract_html(BLOGGER)
    assert result.rescued == "no_content"
    assert all(sentence in result.text for sentence in POST)


def test_a_pull_quote_taken_for_the_body_is_rescued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "_main_text", lambda tree: _doc(QUOTE))
    result = extract_html(PRESS_RELEASE)
    assert result.rescued == "short"
    assert all(sentence in result.text for sentence in POST)


def test_a_whole_body_is_kept_as_the_cleaner_found_it() -> None:
    result = extract_html(PRESS_RELEASE)
    assert result.rescued is None
    assert all(sentence in result.text for sentence in POST)


def test_a_short_page_has_nothing_to_rescue(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under MIN_ARTICLE_CHARS of text on the whole page: a short body is the page's all.
    calls: list[str] = []

    def record(html: str) -> list[str]:
        calls.append(html)
        return []

    monkeypatch.setattr(rescue, "default_extraction", record)
    result = extract_html("<html><body><p>Closed on Monday for the holiday.</p></body></html>")
    assert result.rescued is None and calls == []


def test_the_rescue_keeps_the_cleaners_body_when_trafilatura_finds_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(extract_module, "_main_text", lambda tree: _doc(POST[0]))
    monkeypatch.setattr(rescue, "default_extraction", lambda html: [POST[0], POST[1]])
    result = extract_html(PRESS_RELEASE)
    assert result.rescued is None and result.text == POST[0]


@pytest.mark.parametrize(
    ("chars", "mass", "unlinked", "expected"),
    [
        (100, 10_000, 10_000, True),
        (3_000, 10_000, 10_000, False),
        (100, 400, 400, False),
        # Mostly navigation: a body of 2,000 is a fifth of the page but most of its prose.
        (2_000, 10_000, 3_000, False),
        (800, 10_000, 3_000, True),
        # A page of links whose article is not in its visible prose (a script shell):
        # the unlinked mass is floored at an article's minimum length.
        (100, 800, 150, True),
        (200, 800, 150, False),
    ],
)
def test_needed_compares_the_body_with_the_pages_unlinked_text_mass(
    chars: int, mass: int, unlinked: int, expected: bool
) -> None:
    assert rescue.needed(chars, mass, unlinked) is expected


# Site navigation: a few thousand characters of link text around a short news item.
MENU = "".join(
    f"<li><a href='/s/{i}'>Section {i}: the latest reports and analysis</a></li>" for i in range(80)
)
SHORT_ITEM = [POST[0], POST[1]]
NAV_HEAVY = (
    "<html><head><title>Brief</title></head><body>"
    f"<nav><ul>{MENU}</ul></nav>"
    "<main><h1>Phishing warning</h1>" + "".join(f"<p>{p}</p>" for p in SHORT_ITEM) + "</main>"
    f"<footer><ul>{MENU}</ul></footer></body></html>"
)


def _record_rescues(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    default_extraction = rescue.default_extraction

    def record(html: str) -> list[str]:
        calls.append(html)
        return default_extraction(html)

    monkeypatch.setattr(rescue, "default_extraction", record)
    return calls


def test_a_whole_short_article_among_navigation_is_not_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its body is a small share of the page's visible text, all of the rest links: the
    # second extraction (the rescue's cost) does not run.
    calls = _record_rescues(monkeypatch)
    tree = lxml_html.document_fromstring(NAV_HEAVY)
    body_chars = rescue.text_chars(" ".join(SHORT_ITEM))
    assert body_chars < 0.25 * rescue.text_mass(tree)
    result = extract_html(NAV_HEAVY)
    assert calls == [] and result.rescued is None
    assert all(sentence in result.text for sentence in SHORT_ITEM)


def test_a_lost_article_among_navigation_is_still_rescued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same navigation around a whole post, of which the cleaner kept one line.
    calls = _record_rescues(monkeypatch)
    page = NAV_HEAVY.replace(
        "".join(f"<p>{p}</p>" for p in SHORT_ITEM), "".join(f"<p>{p}</p>" for p in POST)
    )
    monkeypatch.setattr(extract_module, "_main_text", lambda tree: _doc(POST[0]))
    result = extract_html(page)
    assert len(calls) == 1 and result.rescued == "short"
    assert all(sentence in result.text for sentence in POST)


def test_unlinked_mass_leaves_out_link_text() -> None:
    tree = lxml_html.document_fromstring(
        "<html><body><p>one <a href='/x'>two <b>three</b></a> four</p>"
        "<script>var x = 'not text';</script></body></html>"
    )
    assert rescue.unlinked_mass(tree) == len("one four")
    assert rescue.text_mass(tree) == len("one two three four")


def test_text_mass_counts_visible_text_only() -> None:
    tree = lxml_html.document_fromstring(
        "<html><head><title>T</title></head><body><p>one  two\n three</p>"
        "<script>var x = 'not text';</script><style>p {}</style><p>four</p></body></html>"
    )
    assert rescue.text_mass(tree) == len("one two three four")


# Run in the worker process: module-level so that it pickles by reference.
def rescued_extraction(*args: Any, **kwargs: Any) -> Extracted:
    return Extracted(title="T", byline=None, paragraphs=POST, rescued="short")


async def test_each_rescue_is_counted_by_reason() -> None:
    counter = metrics.CLEANER_RESCUES.labels("short")
    before = counter._value.get()
    [out] = await clean_record(
        raw_page(BLOGGER),
        Settings(cleaner_timeout_seconds=30.0).cleaner,
        extractor=rescued_extraction,
    )
    assert counter._value.get() == before + 1
    assert decode(Article, out.value).paragraphs == POST
