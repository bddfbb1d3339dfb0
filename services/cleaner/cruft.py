"""Site-builder and CMS cruft that extractors leave behind, removed at two levels.

HTML level: elements that are never article text (scroll anchors, skip links,
hidden nodes, share bars, cookie and newsletter prompts, related lists) are
dropped before extraction. Line level: named rules remove the leftovers that
survive extraction. Every removal is counted by rule name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import html as lxml_html

# Line rules: name -> pattern matched against a whole stripped line (case-insensitive).
LINE_RULES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        # Wix renders its scroll anchors as the literal text "top of page" / "bottom of page".
        "scroll_anchor": r"(top|bottom) of (the )?page|back to top|scroll to top",
        "skip_link": r"skip to (the )?(main )?(content|navigation|main|article)",
        "share_prompt": r"(share|tweet|pin|email) (this|on) [\w .()]{1,30}"
        r"|share this (post|article|story)|copy link|share",
        "cookie_notice": r".{0,80}\b(uses?|we use) cookies\b.{0,200}|accept (all )?cookies",
        "newsletter_prompt": r"(subscribe|sign up) (to|for) (our|the) newsletter.{0,80}",
        "builder_credit": r"(©|\(c\)|copyright)?.{0,60}(proudly )?(created|made|powered) (with|by) "
        r"(wix|squarespace|wordpress|weebly|godaddy|webflow)(\.com)?\.?",
        "post_stats": r"\d+ (min|minute)s? read|\d+ views?( \d+ comments?)?|\d+ comments?|"
        r"see all|recent posts|related (posts|articles|stories)",
        "advertisement": r"advertisement|sponsored content|ad",
    }.items()
}

# HTML elements removed before extraction: XPath -> rule name.
_UPPER, _LOWER = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'", "'abcdefghijklmnopqrstuvwxyz'"
_CLASSISH = f"translate(concat(' ', @id, ' ', @class, ' '), {_UPPER}, {_LOWER})"
_ARIA = f"translate(@aria-label, {_UPPER}, {_LOWER})"
HTML_RULES: tuple[tuple[str, str], ...] = (
    (
        "scroll_anchor",
        f"//*[contains({_ARIA}, 'top of page') or contains({_ARIA}, 'bottom of page')"
        " or @id='SCROLL_TO_TOP' or @id='SCROLL_TO_BOTTOM']",
    ),
    (
        "skip_link",
        "//a[starts-with(@href, '#') and contains(translate(., 'SKIP', 'skip'), 'skip')]",
    ),
    (
        "hidden",
        "//*[@hidden or @aria-hidden='true'"
        " or contains(translate(@style, ' ', ''), 'display:none')]",
    ),
    ("navigation", "//nav | //*[@role='navigation']"),
    (
        "share_prompt",
        f"//*[contains({_CLASSISH}, 'share-bar') or contains({_CLASSISH}, 'social-share')"
        f" or contains({_CLASSISH}, 'sharing') or contains({_ARIA}, 'share')]",
    ),
    (
        "cookie_notice",
        f"//*[contains({_CLASSISH}, 'cookie') or contains({_CLASSISH}, 'consent')"
        f" or contains({_CLASSISH}, 'gdpr')]",
    ),
    (
        "newsletter_prompt",
        f"//*[contains({_CLASSISH}, 'newsletter')] | //form[.//input[@type='email']]",
    ),
    (
        "related_list",
        f"//*[contains({_CLASSISH}, 'related') or contains({_CLASSISH}, 'recent-posts')"
        f" or contains({_ARIA}, 'recent posts') or contains({_ARIA}, 'related')]",
    ),
)


@dataclass
class Removed:
    """Lines and elements removed, by rule name."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, n: int = 1) -> None:
        self.counts[reason] += n

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def strip_html(tree: lxml_html.HtmlElement, removed: Removed) -> lxml_html.HtmlElement:
    """Drop cruft elements in place; never drop the <body> or <html> itself."""
    for reason, xpath in HTML_RULES:
        for el in tree.xpath(xpath):
            if el.tag in ("html", "body") or el.getparent() is None:
                continue
            # Keep an element that holds the article itself (a share-labelled wrapper, say).
            if el.xpath("boolean(.//article | .//h1)") and reason not in (
                "hidden",
                "scroll_anchor",
            ):
                continue
            text = el.text_content().strip()
            removed.add(reason, max(1, text.count("\n") + 1) if text else 1)
            el.drop_tree()
    return tree


def line_reason(line: str) -> str | None:
    """The name of the rule that says `line` is cruft, or None when it is content."""
    text = " ".join(line.split()).strip(" |·•-–—")
    if not text:
        return None
    if len(text) > 300:  # rules describe short UI strings; long lines are prose
        return None
    for name, pattern in LINE_RULES.items():
        if pattern.fullmatch(text):
            return name
    return None


def filter_lines(lines: Iterable[str], removed: Removed) -> list[str]:
    kept = []
    for line in lines:
        reason = line_reason(line)
        if reason is None:
            kept.append(line)
        else:
            removed.add(reason)
    return kept
