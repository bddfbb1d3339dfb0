"""Rules added for the article-extraction benchmark, each on small hand-written HTML."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from services.cleaner import bodyfix
from services.cleaner.cruft import Removed, drop_promo_lists, line_reason, strip_html
from services.cleaner.extract import extract_html


def _para(topic: str, i: int) -> str:
    return f"<p>{f'The {topic} story goes on with sentence {i} of plain prose. ' * 4}</p>"


def _paras(topic: str, n: int = 4) -> str:
    return "".join(_para(topic, i) for i in range(n))


def _text(html: str) -> str:
    return extract_html(html).text


def test_article_body_with_an_unlucky_class_is_kept() -> None:
    # "bar" in a site's name matches a navigation-bar heuristic of trafilatura.
    html = (
        "<html><body><article id='article-contents'><h1>Head</h1>"
        "<div class='toolbar'>Order Reprints Print Article Text size</div>"
        f"<p>{'A standfirst above the body, long enough to stand alone. ' * 10}</p>"
        f"<div class='barstool-article-body' itemprop='articleBody'>{_paras('main', 6)}</div>"
        "</article></body></html>"
    )
    assert "The main story goes on with sentence 5" in _text(html)


def test_protect_article_body_drops_only_class_and_id() -> None:
    tree = lxml_html.fromstring("<div><div class='x' id='y' itemprop='articleBody'>t</div></div>")
    assert bodyfix.protect_article_body(tree) == 1
    assert tree[0].attrib == {"itemprop": "articleBody"}


def test_body_split_over_chunks_is_merged() -> None:
    html = (
        "<html><body><main>"
        f"<div class='grid'><div class='article__body'>{_paras('first')}</div></div>"
        "<div class='ad-slot'>Advertisement</div>"
        f"<div class='grid'><div class='article__body'>{_paras('second')}</div></div>"
        "</main></body></html>"
    )
    text = _text(html)
    assert "The first story goes on with sentence 3" in text
    assert "The second story goes on with sentence 3" in text


def test_chunks_of_another_class_or_without_text_are_not_merged() -> None:
    tree = lxml_html.fromstring(
        "<html><body>"
        f"<div class='article__body'>{_paras('first')}</div>"
        f"<div class='article__body other'>{_paras('second')}</div>"
        "<div class='article__body'><p>Short.</p></div>"
        "</body></html>"
    )
    assert bodyfix.merge_body_chunks(tree) == 0


def test_embedded_tweet_in_a_social_wrapper_is_kept() -> None:
    tweet = "The campaign is working, the governor wrote on Monday night to her many followers."
    html = (
        f"<html><body><article><div class='entry-content'>{_paras('main', 3)}"
        "<div class='social-media-embed'><blockquote class='twitter-tweet'>"
        f"<p>{tweet}</p>— Someone (@someone) November 18, 2019</blockquote></div>"
        f"{_para('main', 9)}</div></article></body></html>"
    )
    assert tweet in _text(html)


def test_hover_card_goes_and_the_linked_name_stays() -> None:
    html = (
        "<html><body><article>"
        "<p>A man threatened Rep. <span class='rollover-people'>"
        "<a class='rollover-people-link' href='/people/jane'>Jane Roe</a>"
        "<span class='rollover-people-block'><span class='rollover-block'>"
        "<a href='/x'>Other headline about Jane Roe</a> <a href='/p'>MORE</a>"
        "</span></span></span> (D-Minn.), officials said on Monday.</p>"
        f"{_paras('main')}</article></body></html>"
    )
    tree = lxml_html.fromstring(html)
    removed = Removed()
    strip_html(tree, removed)
    text = tree.text_content()
    assert "Rep. Jane Roe (D-Minn.)" in text
    assert "Other headline" not in text
    assert removed.counts["hover_card"] == 1


def test_promo_list_with_its_heading_is_dropped() -> None:
    html = (
        f"<html><body><article>{_paras('main')}<hr>"
        "<div class='heading-h3'>More Great Stories</div>"
        "<ul><li>One story, <a href='/1'>with a link</a></li>"
        "<li><a href='/2'>Another story</a></li></ul>"
        "<p><strong>DON'T MISS</strong></p>"
        "<p><a href='/3'>A third story</a> [INSIGHT] <a href='/4'>A fourth one</a></p>"
        "</article></body></html>"
    )
    tree = lxml_html.fromstring(html)
    removed = Removed()
    assert drop_promo_lists(tree, removed) == 2
    text = tree.text_content()
    assert "story, with a link" not in text and "A third story" not in text
    assert "The main story goes on" in text


def test_a_list_of_links_after_an_ordinary_heading_stays() -> None:
    tree = lxml_html.fromstring(
        "<div><h2>Where to buy it</h2><ul><li><a href='/a'>Shop A</a></li></ul>"
        "<h2>More stories</h2><ul><li>No link here</li></ul></div>"
    )
    assert drop_promo_lists(tree, Removed()) == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Read more: Markets slide as the talks stall", "read_more"),
        ("RELATED: Ten pictures of the moon", "read_more"),
        ("Also on example.com Officials face new questions", "read_more"),
        ("DON'T MISS", "read_more"),
        ("Like this story? Share it with a friend!", "share_prompt"),
        (
            "Sign up for The Morning Note today to get the free daily newsletter.",
            "newsletter_prompt",
        ),
        ("Get the latest updates. Subscribe to Example.com's newsletters.", "newsletter_prompt"),
        ("Have a tip? Jane Roe may be reached at jroe@example.com.", "author_contact"),
        ("Email Jo Doe at jdoe@example.com or follow him @jodoe.", "author_contact"),
        ("Follow @ExampleDeals on Twitter to keep up with the latest deals.", "author_contact"),
        ("Follow Example News on Facebook, Twitter and Instagram.", "author_contact"),
        ("Write to Al Root at al.root@example.com", "author_contact"),
        ("Filed under: Politics |", "taxonomy"),
        ("Tags", "taxonomy"),
        ("[button link='/x' type='big'] Send us YOUR review[/button]", "shortcode"),
        ("segunda-feira, 22 de janeiro de 2018 às 0:13", "dateline"),
        ("Updated at 1:23 p.m.", "dateline"),
        # Prose stays.
        ("More information: G. Petit et al., Handbook of Life Support Systems (2018).", None),
        ("See more photos:", None),
        ("Related stories were told by officials in the capital on Monday.", None),
        ("Fans can follow the band on tour across Europe next spring.", None),
        ("The meeting starts at 10:30 on Monday and ends before lunch.", None),
        ("Analysts said subscribers signed up for the free trial in November.", None),
        ("The tags on the crates were checked by inspectors at the port.", None),
    ],
)
def test_new_line_rules(line: str, reason: str | None) -> None:
    assert line_reason(line) == reason
