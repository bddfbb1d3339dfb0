"""The cleaner's cheap paths give what the slower ones gave: fallback gate, parser, cruft walk."""

from __future__ import annotations

from typing import Any

import pytest
import trafilatura
from lxml import html as lxml_html

from services.cleaner import extract as extract_module
from services.cleaner.cruft import (
    _ARIA_ANY,
    _ARIA_RULES,
    _ID_CLASS_ANY,
    _ID_CLASS_RULES,
    Removed,
    element_reason,
    strip_html,
)
from services.cleaner.extract import FALLBACK_BELOW_CHARS, _parse, extract_html


def _article(paragraphs: int) -> str:
    body = "".join(
        f"<p>{f'Paragraph {i} of the story tells what happened on the day. ' * 3}</p>"
        for i in range(paragraphs)
    )
    return f"<html><body><article><h1>Head</h1>{body}</article></body></html>"


def _record_fast(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    calls: list[bool] = []
    real = trafilatura.bare_extraction

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["fast"])
        return real(*args, **kwargs)

    monkeypatch.setattr(extract_module.trafilatura, "bare_extraction", spy)
    return calls


def test_a_long_main_text_skips_the_fallback_extractors(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_fast(monkeypatch)
    result = extract_html(_article(8))
    assert len(result.text) >= FALLBACK_BELOW_CHARS
    assert calls == [True]


def test_a_short_main_text_runs_the_whole_cascade(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_fast(monkeypatch)
    result = extract_html(_article(1))
    assert calls == [True, False]
    assert result.text.startswith("Paragraph 0 of the story")


def test_the_second_run_sees_the_tree_the_first_one_saw() -> None:
    # trafilatura copies the tree it is given: the cascade is not fed a pruned tree.
    tree = _parse(_article(1))
    before = lxml_html.tostring(tree)
    assert extract_module._main_text(tree) is not None
    assert lxml_html.tostring(tree) == before


def test_parsed_elements_are_html_elements_forms_included() -> None:
    tree = _parse(
        "<html><body><form><input type='email'><label>Mail</label>"
        "<select><option>a</option></select><textarea>t</textarea></form></body></html>"
    )
    for el in tree.iter():
        assert isinstance(el, lxml_html.HtmlElement)
    assert tree.find(".//form").text_content() == "Mailat"
    assert element_reason(tree.find(".//form")) == "newsletter_prompt"


# Each identifier with the rule it must meet (None: no rule), written out by hand so
# that the filter is checked against what the rules are meant to catch, not against
# whatever they happen to catch.
@pytest.mark.parametrize(
    ("ident", "reason"),
    [
        ("scroll_to_top", "scroll_anchor"),
        ("x scroll_to_bottom", "scroll_anchor"),
        ("share-bar", "share_prompt"),
        ("social-share", "share_prompt"),
        ("post-sharing", "share_prompt"),
        ("cookie-banner", "cookie_notice"),
        ("consent", "cookie_notice"),
        ("gdpr-box", "cookie_notice"),
        ("newsletter", "newsletter_prompt"),
        ("related-posts", "related_list"),
        ("recent-posts", "related_list"),
        ("tooltip", "hover_card"),
        ("popover", "hover_card"),
        ("rollover", "hover_card"),
        ("hovercard", "hover_card"),
        ("hover-card", "hover_card"),
        ("article-body", None),
        ("main", None),
        # The filter drops the rule's leading \b and so matches; the rule itself does not.
        ("xscroll_to_top", None),
    ],
)
def test_the_id_class_filter_lets_every_rule_match_through(ident: str, reason: str | None) -> None:
    assert next((r for r, p in _ID_CLASS_RULES if p.search(ident)), None) == reason
    if reason is not None:
        assert _ID_CLASS_ANY.search(ident)
    # Through the element walk, where the filter decides whether the rules are asked.
    assert element_reason(lxml_html.fromstring(f'<div class="{ident}">x</div>')) == reason
    assert element_reason(lxml_html.fromstring(f'<div id="{ident}">x</div>')) == reason


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("top of page", "scroll_anchor"),
        ("share on x", "share_prompt"),
        ("recent posts", "related_list"),
        ("related", "related_list"),
        ("menu", None),
    ],
)
def test_the_aria_filter_lets_every_rule_match_through(label: str, reason: str | None) -> None:
    assert next((r for r, p in _ARIA_RULES if p.search(label)), None) == reason
    if reason is not None:
        assert _ARIA_ANY.search(label)
    el = lxml_html.fromstring(f'<div aria-label="{label.title()}">x</div>')
    assert element_reason(el) == reason


def test_cruft_inside_dropped_cruft_is_counted_once() -> None:
    tree = lxml_html.fromstring(
        "<html><body><article><p>Body text of the article.</p>"
        "<div class='related'><h3>More</h3><div class='newsletter'>Sign up</div>"
        "<div hidden>x</div></div>"
        "<div class='cookie'>We use cookies</div>"
        "</article></body></html>"
    )
    removed = Removed()
    strip_html(tree, removed)
    assert removed.as_dict() == {"cookie_notice": 1, "related_list": 1}
    assert tree.text_content() == "Body text of the article."


def test_a_wrapper_holding_the_article_stays_and_its_cruft_goes() -> None:
    tree = lxml_html.fromstring(
        "<html><body><div class='sharing-wrapper'><article><h1>Head</h1>"
        "<p>Body.</p><nav>Menu</nav></article></div></body></html>"
    )
    removed = Removed()
    strip_html(tree, removed)
    assert removed.as_dict() == {"navigation": 1}
    assert tree.find(".//article") is not None


def test_the_root_given_is_never_dropped() -> None:
    tree = lxml_html.fromstring("<div class='related'><p>Only this.</p></div>")
    strip_html(tree, Removed())
    assert tree.text_content() == "Only this."
