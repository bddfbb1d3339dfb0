"""The cleaner's ablation: the site split and the switches, on hand-made pages."""

from __future__ import annotations

from services.cleaner import cruft
from services.cleaner.extract import extract_html
from services.devtools import evalablation

PROSE = "<p>" + "The council met on Tuesday and agreed the budget for the next year. " * 6 + "</p>"


def test_site_is_the_registered_domain_or_the_file() -> None:
    assert evalablation.site_of("k", "https://www.example.co.uk/a/b") == "example.co.uk"
    assert evalablation.site_of("https://de.example.org/x", "https://de.example.org/x") == (
        "example.org"
    )
    assert evalablation.site_of("hard::example.com-story.html", "x.html") == (
        "file:hard::example.com-story.html"
    )


def test_both_pages_of_a_site_fall_in_the_same_half() -> None:
    first = evalablation.half_of("a", "https://example.com/one")
    assert evalablation.half_of("b", "http://news.example.com/two ") == first
    halves = {evalablation.half_of(str(i), f"https://site{i}.com/") for i in range(20)}
    assert halves == {"A", "B"}


def test_a_line_rule_switched_off_and_back_on() -> None:
    html = f"<html><body><article>{PROSE}<p>Share this article</p></article></body></html>"
    assert "Share this article" not in extract_html(html).text
    with evalablation.switched_off(evalablation.ablations()["line:share_prompt"]):
        assert "Share this article" in extract_html(html).text
    assert "share_prompt" in cruft.LINE_RULES
    assert "Share this article" not in extract_html(html).text


def test_every_switch_names_patches() -> None:
    switches = evalablation.ablations()
    assert "rescue" in switches and "element:hidden" in switches
    assert all(switches.values())
