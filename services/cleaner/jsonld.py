"""Article metadata from schema.org JSON-LD (`<script type="application/ld+json">`).

Publishers write JSON-LD by hand or with plugins, so it arrives broken (trailing
commas, raw newlines in strings, HTML comments around it), nested (`@graph`,
lists, `mainEntity`) and by reference (Yoast's `"author": {"@id": "#/person/1"}`
pointing at a Person elsewhere in the graph). Everything here is bounded and
never raises on bad input: a script that cannot be read is skipped.
"""

from __future__ import annotations

import html
import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

from services.cleaner.langtags import language_code

# schema.org types that describe the page's article (subtypes included by suffix).
ARTICLE_SUFFIXES = ("Article", "BlogPosting", "LiveBlogPosting", "Report")
MAX_SCRIPT_CHARS = 1_000_000
MAX_NODES = 5_000
MAX_DEPTH = 32
MAX_TAGS = 50

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WRAPPERS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>)\s*$")


@dataclass
class JsonLd:
    """What the page's JSON-LD says about its article; None/empty where it says nothing."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    site: str | None = None
    canonical_url: str | None = None
    top_image: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None


def loads(text: str) -> Any:
    """Parse one script's JSON, repairing the common breakages; None when it stays unreadable."""
    if len(text) > MAX_SCRIPT_CHARS:
        return None
    attempts = (text, _TRAILING_COMMA.sub(r"\1", _WRAPPERS.sub("", text.strip())))
    for attempt in attempts:
        try:
            # strict=False: raw newlines and tabs inside strings are common in the wild.
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


def _nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in `data`, breadth-first, bounded in count and depth."""
    queue: deque[tuple[Any, int]] = deque([(data, 0)])
    seen = 0
    while queue and seen < MAX_NODES:
        value, depth = queue.popleft()
        seen += 1
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, list):
            queue.extend((v, depth + 1) for v in value)
        elif isinstance(value, dict):
            yield value
            queue.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)]


def _is_article(node: dict[str, Any]) -> bool:
    return any(k.endswith(ARTICLE_SUFFIXES) for k in _types(node))


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if not isinstance(value, str):
        return None
    text = " ".join(html.unescape(value).split())
    return text or None


class _Graph:
    """All objects of the page's JSON-LD, with @id lookup for references."""

    def __init__(self, documents: list[Any]) -> None:
        self.nodes = [n for doc in documents for n in _nodes(doc)]
        self.by_id = {
            n["@id"]: n for n in self.nodes if isinstance(n.get("@id"), str) and len(n) > 1
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) <= {"@id", "@type"}:
            return self.by_id.get(value.get("@id"), value)
        return value

    def name(self, value: Any) -> str | None:
        value = self.resolve(value)
        if isinstance(value, dict):
            return _text(value.get("name"))
        return _text(value)

    def names(self, value: Any) -> list[str]:
        values = value if isinstance(value, list) else [value]
        out: list[str] = []
        for v in values[:MAX_TAGS]:
            name = self.name(v)
            if name and not name.startswith(("http://", "https://")) and name not in out:
                out.append(name)
        return out

    def url(self, value: Any) -> str | None:
        if isinstance(value, list):
            value = value[0] if value else None
        value = self.resolve(value)
        if isinstance(value, dict):
            value = value.get("url") or value.get("contentUrl") or value.get("@id")
        return _text(value)


def _tags(value: Any) -> list[str]:
    raw = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    out: list[str] = []
    for item in raw[:MAX_TAGS]:
        tag = _text(item)
        if tag and tag not in out:
            out.append(tag)
    return out


def _language(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    return language_code(_text(value))


def scripts(tree: lxml_html.HtmlElement) -> list[str]:
    return [
        el.text
        for el in tree.iter("script")
        if el.text and "ld+json" in (el.get("type") or "").lower()
    ]


def from_documents(documents: list[Any]) -> JsonLd:
    """The first article object of the parsed scripts, its references resolved."""
    graph = _Graph(documents)
    article = next((n for n in graph.nodes if _is_article(n)), None)
    if article is None:
        return JsonLd()
    site = graph.name(article.get("publisher"))
    if site is None:
        website = next((n for n in graph.nodes if "WebSite" in _types(n)), None)
        site = _text(website.get("name")) if website else None
    return JsonLd(
        title=_text(article.get("headline")) or _text(article.get("name")),
        authors=graph.names(article.get("author") or article.get("creator")),
        published=_text(article.get("datePublished")) or _text(article.get("dateCreated")),
        modified=_text(article.get("dateModified")),
        site=site,
        canonical_url=graph.url(article.get("mainEntityOfPage")) or _text(article.get("url")),
        top_image=graph.url(article.get("image")) or _text(article.get("thumbnailUrl")),
        section=_text(article.get("articleSection")),
        tags=_tags(article.get("keywords")),
        language=_language(article.get("inLanguage")),
    )


def read(tree: lxml_html.HtmlElement) -> JsonLd:
    """The article metadata of the page's JSON-LD scripts; empty when there is none."""
    documents = [doc for doc in map(loads, scripts(tree)) if doc is not None]
    return from_documents(documents) if documents else JsonLd()
