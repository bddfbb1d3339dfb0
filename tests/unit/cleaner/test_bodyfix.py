"""Rules added for the article-extraction benchmark, each on small hand-written HTML."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from services.cleaner import bodyfix
from services.cleaner import extract as extract_module
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


# Losses of trafilatura's precision mode on trafilatura's evaluation set, each on a
# minimal page: text after an empty element, a block with a spacing utility class, a
# page laid out in a table, a paragraph wrapped in a jump target.

SUBHEADING = "Are car bank loans dearer despite their low rates?"


def _page(body: str) -> str:
    return f"<html><body><article><h1>Car loans explained</h1>{body}</article></body></html>"


def _article(middle: str) -> str:
    return _page(f"{_paras('opening', 3)}{middle}{_paras('closing', 3)}")


@pytest.mark.parametrize(
    "heading",
    [
        f"<h3><i class='fa fa-chevron-down'></i> {SUBHEADING}</h3>",
        f"<h2><span class='toc-section' id='loans'></span>{SUBHEADING}<span></span></h2>",
    ],
)
def test_text_after_an_empty_element_is_kept(heading: str) -> None:
    assert SUBHEADING in _text(_article(heading))


def test_only_empty_elements_with_text_after_them_are_dropped() -> None:
    tree = lxml_html.fromstring(
        "<div><p><i class='icon'></i>After an icon.</p>"
        "<p><b>Bold</b> stays.</p>"  # not empty
        "<p>Line<span><br></span>break stays.</p>"  # shows a line break
        "<p>Nothing after <span class='x'></span></p>"  # no text follows
        "<p><em> </em>After a blank.</p></div>"
    )
    assert bodyfix.drop_empty_before_text(tree) == 2
    assert [p.text_content() for p in tree] == [
        "After an icon.",
        "Bold stays.",
        "Linebreak stays.",
        "Nothing after ",
        "After a blank.",
    ]
    assert tree.find(".//b") is not None and tree.find(".//br") is not None


STANDFIRST = "Paying cash is the cheapest way to buy a car, but few buyers can do it."


def test_a_standfirst_in_a_block_with_a_bottom_margin_class_is_kept() -> None:
    html = _article(
        f"<div class='row margin-bottom'><div class='lead'><p>{STANDFIRST}</p></div></div>"
    )
    assert STANDFIRST in _text(html)


@pytest.mark.parametrize(
    ("classes", "kept"),
    [
        ("row margin-bottom", "row"),
        ("inner no_margin_bottom no_margin_left", "inner no_margin_left"),
        ("card padded padded-bottom", "card padded"),
        ("border-top border-bottom py-2", "border-top py-2"),
        # Page-bottom chrome is named so: these stay for trafilatura to prune.
        ("bottom-bar", "bottom-bar"),
        ("article-bottom share", "article-bottom share"),
        ("footer__bottom", "footer__bottom"),
        ("ad-mpu-bottom", "ad-mpu-bottom"),
    ],
)
def test_spacing_classes_are_dropped_and_position_classes_kept(classes: str, kept: str) -> None:
    tree = lxml_html.fromstring(f"<div><div class='{classes}'>x</div></div>")
    bodyfix.drop_spacing_classes(tree)
    assert tree[0].get("class") == kept


def test_a_page_laid_out_in_a_table_gives_its_paragraphs_as_lines() -> None:
    html = (
        "<html><body><table><tr><td class='content'><h1>Protests spread</h1>"
        "<div>November 20, 2019</div>"
        f"{_paras('main', 5)}</td>"
        "<td class='side'><b>Top stories</b> A vote on Tuesday. Another vote on Monday.</td>"
        "</tr></table></body></html>"
    )
    lines = _text(html).split("\n\n")
    assert any(line.startswith("The main story goes on with sentence 0") for line in lines)
    assert not any(line.startswith("|") for line in lines)


@pytest.mark.parametrize(
    "cell",
    [
        "Price",  # a datum
        "<p>A short note.</p><p>Another short note.</p>",  # two short notes
        f"<p>{'A long note about the product and its origin. ' * 15}</p>",  # one paragraph
    ],
)
def test_data_tables_are_not_marked_as_layout(cell: str) -> None:
    tree = lxml_html.fromstring(f"<div><table><tr><td>{cell}</td><td>9.90</td></tr></table></div>")
    assert bodyfix.mark_layout_tables(tree) == 0
    assert tree.find(".//table").get("role") is None


def test_a_paragraph_wrapped_in_a_jump_target_is_kept() -> None:
    question = "One of the questions listeners ask most often: what does the professor say?"
    html = _article(f"<p><a name='question'>{question}</a></p>")
    assert question in _text(html)


def test_only_anchors_without_href_that_name_a_place_are_unwrapped() -> None:
    tree = lxml_html.fromstring(
        "<div><p><a name='a'>Target</a> <a id='b'>Target</a></p>"
        "<p><a href='/x'>Link</a> <a class='js-title'>Scripted</a> <a name='c'></a></p></div>"
    )
    assert bodyfix.unwrap_anchors_without_href(tree) == 2
    assert [a.text for a in tree.iter("a")] == ["Link", "Scripted", None]


def _ending(tail: str) -> str:
    return _page(f"{_paras('main', 4)}<h2>Costs in detail</h2>{_paras('costs', 2)}{tail}")


@pytest.mark.parametrize(
    "heading", ["You may also like:", "Tell us what YOU think...", "Teilnehmende Blogs:"]
)
def test_a_heading_left_at_the_end_of_the_body_goes(heading: str) -> None:
    # The share line under the heading is cruft: once it is gone, nothing follows the heading.
    result = extract_html(_ending(f"<h3>{heading}</h3><p>Share this:</p>"))
    assert heading not in result.text
    assert result.paragraphs[-1].startswith("The costs story goes on with sentence 1")
    assert result.removed.get("trailing_heading") == 1


def test_headings_followed_by_text_stay() -> None:
    text = _text(_ending("<h3>You may also like:</h3><p>The end of the story, told in prose.</p>"))
    assert "Costs in detail" in text and "You may also like:" in text


def test_drop_trailing_headings_keeps_a_lone_heading_and_prose_with_the_same_words() -> None:
    removed = Removed()
    assert extract_module.drop_trailing_headings(["Related"], {"Related"}, removed) == ["Related"]
    lines = ["Intro.", "Related", "Related stories were told in the capital."]
    assert extract_module.drop_trailing_headings(lines, {"Related"}, removed) == lines
    assert extract_module.drop_trailing_headings(
        ["Intro.", "Related", "More"], {"Related", "More"}, removed
    ) == ["Intro."]
    assert removed.counts["trailing_heading"] == 2


def test_the_posts_of_a_blog_front_page_are_not_merged() -> None:
    # Each post's body matches the same body expression, but each is under its own title.
    posts = "".join(
        f"<div class='post hentry'><h2><a href='/{topic}'>About {topic}</a></h2>"
        f"<div class='entry-content'>{_paras(topic)}</div></div>"
        for topic in ("first", "second", "third")
    )
    html = f"<html><body><div id='content'>{posts}</div></body></html>"
    tree = lxml_html.fromstring(html)
    assert bodyfix.merge_body_chunks(tree) == 0
    text = _text(html)
    assert "The first story goes on with sentence 3" in text
    assert "The second story" not in text


def test_chunks_between_subheadings_and_ads_of_one_story_are_merged() -> None:
    html = (
        "<html><body><main><h1>One story</h1>"
        f"<div class='grid'><div class='article__body'>{_paras('first')}</div></div>"
        "<h2>A subheading</h2><div class='ad-slot'>Advertisement</div>"
        f"<div class='grid'><div class='article__body'>{_paras('second')}</div></div>"
        "</main></body></html>"
    )
    assert bodyfix.merge_body_chunks(lxml_html.fromstring(html)) == 1
    assert "The second story goes on with sentence 3" in _text(html)
