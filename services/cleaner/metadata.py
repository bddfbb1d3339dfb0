"""Article metadata from the page: title, byline, dates, site, canonical URL, language."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lxml import html as lxml_html

_BYLINE_ROLE = (
    r"staff writer|staff reporter|staff|correspondent|reporter|contributor|columnist|"
    r"editor|news desk|desk|wire|newsroom"
)
BYLINE_PATTERNS = (
    re.compile(r"by\s+\w[\w.'’\- ]{1,80}", re.IGNORECASE),
    re.compile(rf"[\w.'’\- ]{{1,60}}\b({_BYLINE_ROLE})", re.IGNORECASE),
)
BYLINE_XPATHS = (
    "//meta[@name='author']/@content",
    "//*[@itemprop='author']//*[@itemprop='name']/text()",
    "//*[@itemprop='author']/text()",
    "//*[@rel='author']/text()",
    "//*[contains(concat(' ', @class, ' '), 'author-name')]//text()",
    "//*[contains(concat(' ', @class, ' '), ' byline')]//text()",
)


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def looks_like_byline(line: str) -> bool:
    text = " ".join(line.split())
    if not text or len(text.split()) > 10 or text.endswith((".", "?", "!", ":")):
        return False
    return any(p.fullmatch(text) for p in BYLINE_PATTERNS)


def clean_byline(line: str) -> str:
    return re.sub(r"^by\s+", "", " ".join(line.split()), flags=re.IGNORECASE)


def byline_from_html(tree: lxml_html.HtmlElement) -> str | None:
    for xpath in BYLINE_XPATHS:
        values = [" ".join(str(v).split()) for v in tree.xpath(xpath)]
        value = " ".join(v for v in values if v)
        if value and len(value) < 120:
            return clean_byline(value)
    return None


def first_attr(tree: lxml_html.HtmlElement, *xpaths: str) -> str | None:
    for xpath in xpaths:
        for value in tree.xpath(xpath):
            text = " ".join(str(value).split())
            if text:
                return text
    return None


def title_from_html(tree: lxml_html.HtmlElement) -> str | None:
    return first_attr(
        tree, "//meta[@property='og:title']/@content", "//h1//text()", "//title/text()"
    )


def canonical_from_html(tree: lxml_html.HtmlElement) -> str | None:
    return first_attr(tree, "//link[@rel='canonical']/@href", "//meta[@property='og:url']/@content")


def language_from_html(tree: lxml_html.HtmlElement) -> str | None:
    lang = first_attr(tree, "/html/@lang", "//meta[@http-equiv='content-language']/@content")
    return lang.split("-")[0].lower() if lang else None


def parse_date(value: str | None) -> datetime | None:
    """An ISO date or datetime as an aware UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def published_from_html(tree: lxml_html.HtmlElement) -> datetime | None:
    return parse_date(
        first_attr(
            tree,
            "//meta[@property='article:published_time']/@content",
            "//meta[@itemprop='datePublished']/@content",
            "//time[@datetime]/@datetime",
        )
    )


def published_from_text(tree: lxml_html.HtmlElement) -> datetime | None:
    """htmldate's search of the whole page, for pages without date meta tags (slower)."""
    from htmldate import find_date

    try:
        found = find_date(tree, original_date=True, extensive_search=False)
    except (ValueError, TypeError):
        return None
    return parse_date(found) if found else None
