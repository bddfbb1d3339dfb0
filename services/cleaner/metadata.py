"""Article metadata from the page, each field with where it came from.

Three sources, read separately and then merged field by field: the page's
schema.org JSON-LD (`jsonld.py`), its meta tags (`<meta>`, `<link>`, `<html lang>`)
and its visible markup (`<h1>`, `<title>`, byline elements, `<time>`, and
htmldate's search as the last resort for dates). JSON-LD wins over meta tags,
which win over text: JSON-LD is written for machines and names its fields
unambiguously, meta tags are mostly Open Graph for social previews, and text is
a guess. The canonical URL is the exception: `<link rel="canonical">` is what
the publisher tells search engines (and what the fetcher already uses).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import html as lxml_html

from services.cleaner import jsonld
from services.cleaner.langtags import language_code
from services.common.models import MetadataSource

_BYLINE_ROLE = (
    r"staff writer|staff reporter|staff|correspondent|reporter|contributor|columnist|"
    r"editor|news desk|desk|wire|newsroom|bureau chief"
)
# Shapes of a byline line at the top of the body; "By ..." is then checked part by part
# (`looks_like_byline`): a name or a role, not a phrase ("By the numbers").
BYLINE_PATTERNS = (
    re.compile(r"by\s+\w[\w.'’\-,&| ]{1,80}", re.IGNORECASE),
    re.compile(rf"[\w.'’\- ]{{1,60}}\b({_BYLINE_ROLE})", re.IGNORECASE),
)
_ROLE_ONLY = re.compile(rf"(the )?({_BYLINE_ROLE})s?", re.IGNORECASE)
# A later part of a byline that ends in a role describes the author before it ("Fumio
# Kishida, Tokyo bureau chief", "Jane Doe, Sports Desk"): not an author of its own.
_ENDS_IN_ROLE = re.compile(rf"\b({_BYLINE_ROLE})s?$", re.IGNORECASE)
_ROLE_WORDS = frozenset(re.findall(r"\w+", _BYLINE_ROLE))
_AUTHOR_SEPARATORS = re.compile(r"\s*(?:,|;|\||&|\band\b|\bund\b|\bet\b|\by\b)\s*", re.IGNORECASE)
# Lower-case words inside names ("Ursula von der Leyen", "Gabriel García de la Cruz").
_NAME_PARTICLES = frozenset(
    {"de", "da", "di", "du", "des", "del", "della", "der", "den", "van", "von", "le", "la"}
    | {"ten", "ter", "bin", "ibn", "al", "el", "dos", "das", "st", "st."}
)
# Particles written joined to the name: "al-Hakim", "el-Sisi", "d'Alembert".
_JOINED_PARTICLE = re.compile(r"(?:al|el|ad|an|ar|as|ash|at|az|bin|ibn|abu|d|l)[-‐'’](?=\w)")
MAX_NAME_WORDS = 5
# A place or an employer after the name: "By Jane Doe in London", "... for Reuters".
_NAME_SUFFIX = re.compile(r"\s+(?:in|at|for|from)\s+")
_DIGIT = re.compile(r"\d")
# Byline elements of the visible page (meta tags are read separately), best first. The
# class "byline" is matched as a whole token ("byline__date" is not the byline); classes
# that start with "byline-" or "byline_" ("byline-section" of the USA Today network) are
# the last resort. Their date parts are skipped (`_in_date`).
BYLINE_XPATHS = (
    "//*[@itemprop='author']//*[@itemprop='name']/text()",
    "//*[@itemprop='author']/text()",
    "//*[@rel='author']/text()",
    "//*[contains(concat(' ', @class, ' '), 'author-name')]//text()",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' byline ')]//text()",
    "//*[contains(concat(' ', normalize-space(@class)), ' byline-')"
    " or contains(concat(' ', normalize-space(@class)), ' byline_')]//text()",
)
# Parts of a byline element that hold its date ("byline__date", "timestamp", "pubdate"),
# not "publisher" or "timeline".
_DATE_CLASS = re.compile(r"date|timestamp|(?<![a-z])time(?![a-z])|published|updated", re.I)
# How far up a text node's ancestors a <time> element is looked for.
_TIME_DEPTH = 3
MAX_BYLINE_CHARS = 120
# Publication and update dates outside [EARLIEST_DATE, now + FUTURE_SLACK] are not believed.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
MAX_TAGS = 50

# Meta tag keys (name, property or itemprop, lower-cased) per field, best first.
META_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("og:title", "twitter:title"),
    "authors": ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author"),
    "published": (
        "article:published_time",
        "og:article:published_time",
        "datepublished",
        "parsely-pub-date",
        "sailthru.date",
        "dc.date.issued",
        "dc.date",
        "pubdate",
        "publishdate",
        "date",
    ),
    "modified": ("article:modified_time", "og:updated_time", "datemodified", "last-modified"),
    "site": ("og:site_name", "application-name"),
    "canonical_url": ("og:url",),
    "top_image": ("og:image", "og:image:url", "og:image:secure_url", "twitter:image"),
    "section": ("article:section", "parsely-section", "section"),
    "tags": ("article:tag", "news_keywords", "keywords", "parsely-tags"),
    # <meta http-equiv="Content-Language"> and og:locale before <html lang>, which themes
    # ship as "en" and sites leave so (German and Spanish pages declaring "en" there
    # and their own language in the others); name="language" last (free text).
    "language": ("content-language", "og:locale", "language"),
}
_META_WANTED = frozenset(k for keys in META_KEYS.values() for k in keys)

# Per-field precedence of the sources; DEFAULT_ORDER for every field not listed.
DEFAULT_ORDER: tuple[MetadataSource, ...] = ("json-ld", "meta", "text")
ORDER: dict[str, tuple[MetadataSource, ...]] = {"canonical_url": ("meta", "json-ld")}
FIELDS = (
    "title",
    "authors",
    "published",
    "modified",
    "site",
    "canonical_url",
    "top_image",
    "section",
    "tags",
    "language",
)


@dataclass
class Metadata:
    title: str | None = None
    # Every title the page gives (headline, og:title, h1, <title>): any of them that
    # opens the body is the headline repeated, not article text.
    titles: list[str] = field(default_factory=list)
    byline: str | None = None
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    modified: datetime | None = None
    site: str | None = None
    canonical_url: str | None = None
    top_image: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    # Field name -> "json-ld" | "meta" | "text" for every field that has a value.
    sources: dict[str, MetadataSource] = field(default_factory=dict)


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _is_name_word(word: str) -> bool:
    """A word of a person's or an organisation's name: capitalised, or a name particle."""
    word = word.strip("()[]\"“”'‘’.,")
    if not word or _DIGIT.search(word):
        return False
    if word in _NAME_PARTICLES:
        return True
    word = _JOINED_PARTICLE.sub("", word, count=1)
    return word[:1].isupper()


def is_name(text: str) -> bool:
    """Whether `text` reads as one name: a few capitalised words, particles allowed
    ("Jane Doe", "J. R. Smith", "Ursula von der Leyen", "Ahmed al-Hakim"); not a phrase
    ("the numbers", "far the best")."""
    words = text.split()
    return (
        0 < len(words) <= MAX_NAME_WORDS
        and all(_is_name_word(w) for w in words)
        and any(w not in _NAME_PARTICLES for w in words)
    )


def _is_name_part(part: str) -> bool:
    """One part of a byline: a name, with a place or an employer after it, or a role."""
    if _ROLE_ONLY.fullmatch(part):
        return True
    return all(is_name(p) for p in _NAME_SUFFIX.split(part, maxsplit=1))


def _is_role_line(text: str) -> bool:
    """Whether a line ending on a role is a byline ("News of War Staff Writer", "Sports
    desk"), not a standfirst ("Inside the final days of a small-town newsroom"): fewer
    than half of its words are lower-case words other than roles."""
    words = re.findall(r"[\w'’-]+", text)
    prose = [w for w in words if w[:1].islower() and w.lower() not in _ROLE_WORDS]
    return 2 * len(prose) < len(words)


def looks_like_byline(line: str) -> bool:
    """Whether a line at the top of the body is the byline: "By" and names, or a role."""
    text = " ".join(line.split())
    if not text or len(text.split()) > 10 or text.endswith((".", "?", "!", ":")):
        return False
    by, role = (p.fullmatch(text) for p in BYLINE_PATTERNS)
    if by:
        parts = [p.strip(" .") for p in _AUTHOR_SEPARATORS.split(clean_byline(text))]
        if all(_is_name_part(p) for p in parts if p):
            return True
    return bool(role) and _is_role_line(text)


def clean_byline(line: str) -> str:
    return re.sub(r"^by(\s+|$)", "", " ".join(line.split()), flags=re.IGNORECASE)


def split_authors(byline: str) -> list[str]:
    """Author names of a byline: "By A, B and C" -> [A, B, C]; roles ("Staff Writer") dropped.

    A byline that is one name with a role ("News of War Staff Writer") stays whole; a
    later part that ends in a role ("Jane Doe, Tokyo bureau chief") is dropped. Parts
    with digits are dates or times that came with the byline, never names.
    """
    whole = clean_byline(byline)
    parts = [p.strip(" .") for p in _AUTHOR_SEPARATORS.split(whole)]
    names = [
        p
        for i, p in enumerate(parts)
        if p
        and not _ROLE_ONLY.fullmatch(p)
        and not _DIGIT.search(p)
        and not (i > 0 and _ENDS_IN_ROLE.search(p))
    ]
    # "Doe, Jane" is one name written last-name first, not two authors.
    if len(names) == 2 and all(len(n.split()) == 1 for n in names) and len(parts) == 2:
        return [whole]
    return list(dict.fromkeys(names)) or ([whole] if whole and not _DIGIT.search(whole) else [])


def plausible_date(when: datetime, now: datetime) -> bool:
    """Whether `when` can be an article's publication or update time, seen at `now`.

    Dates before EARLIEST_DATE are placeholders (Go's and .NET's zero time
    "0001-01-01", Unix 0) that would override the feed's real date. Dates more than
    FUTURE_SLACK ahead are a publisher's mistake (the dedup stage counts such dates
    from arrival for the same reason); the slack allows local time written as UTC.
    """
    return EARLIEST_DATE <= when <= now + FUTURE_SLACK


def parse_date(value: str | None, now: datetime | None = None) -> datetime | None:
    """An ISO date or datetime as an aware UTC datetime; None when absent, unreadable or
    implausible (see `plausible_date`; `now` defaults to the current time)."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        # Date-only prefixes of odd formats ("2019-11-18 10:00:00 EST") still give the day.
        try:
            parsed = datetime.fromisoformat(value[:10])
        except ValueError:
            return None
    try:
        # Converting a date at the edge of the range ("0001-01-01T00:00:00+01:00")
        # overflows: one bad field must not send the whole article to the DLQ.
        utc = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if plausible_date(utc, now or datetime.now(UTC)) else None


def _clean(value: str | None) -> str | None:
    text = " ".join(value.split()) if value else ""
    return text or None


def _first(tree: lxml_html.HtmlElement, *xpaths: str) -> str | None:
    for xpath in xpaths:
        for value in tree.xpath(xpath):
            text = _clean(str(value))
            if text:
                return text
    return None


def _meta_index(tree: lxml_html.HtmlElement) -> dict[str, list[str]]:
    """Every wanted <meta> content by lower-cased name/property/itemprop, in page order."""
    index: dict[str, list[str]] = {}
    for el in tree.iter("meta"):
        content = _clean(el.get("content"))
        if content is None:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = (el.get(attr) or "").strip().lower()
            if key in _META_WANTED:
                index.setdefault(key, []).append(content)
    return index


def _split_tags(values: list[str]) -> list[str]:
    tags: list[str] = []
    for value in values:
        for tag in value.split(","):
            tag = " ".join(tag.split())
            if tag and tag not in tags:
                tags.append(tag)
    return tags[:MAX_TAGS]


def _language(tree: lxml_html.HtmlElement, index: dict[str, list[str]]) -> str | None:
    """The first declaration that names a language, in the order the page is most often
    right: Content-Language, og:locale, <html lang>, then name="language"."""
    candidates = [
        *index.get("content-language", []),
        *index.get("og:locale", []),
        *tree.xpath("/html/@lang"),
        *index.get("language", []),
    ]
    return next(filter(None, map(language_code, map(str, candidates))), None)


def from_meta(tree: lxml_html.HtmlElement) -> dict[str, Any]:
    """Field -> value from meta tags, <link> and <html lang>."""
    index = _meta_index(tree)

    def first(name: str, accept: Callable[[str], bool] = bool) -> str | None:
        return next((v for k in META_KEYS[name] for v in index.get(k, []) if accept(v)), None)

    def not_url(value: str) -> bool:
        return not value.startswith(("http://", "https://", "/"))

    author_values = next(
        (
            [v for v in index[k] if not_url(v)]
            for k in META_KEYS["authors"]
            if any(not_url(v) for v in index.get(k, []))
        ),
        [],
    )
    authors = list(dict.fromkeys(a for v in author_values for a in split_authors(v)))
    canonical = _first(tree, "//link[@rel='canonical']/@href") or first("canonical_url")
    image = first("top_image") or _first(tree, "//link[@rel='image_src']/@href")
    return {
        "title": first("title"),
        "authors": authors,
        "byline": ", ".join(author_values) if author_values else None,
        "published": next(filter(None, map(parse_date, _all(index, "published"))), None),
        "modified": next(filter(None, map(parse_date, _all(index, "modified"))), None),
        "site": first("site"),
        "canonical_url": canonical,
        "top_image": image,
        "section": first("section"),
        "tags": _split_tags(next((index[k] for k in META_KEYS["tags"] if k in index), [])),
        "language": _language(tree, index),
    }


def _all(index: dict[str, list[str]], name: str) -> list[str]:
    return [v for k in META_KEYS[name] for v in index.get(k, [])]


def _in_date(node: Any) -> bool:
    """Whether a text node of a byline element is its date: a text with digits, in an
    element whose class names a date ("byline__date") or inside a <time>.

    Only the node's own element is asked about its class: a wrapper's class
    ("post-meta-published") may hold the byline too. A <time> never holds a name.
    """
    if _DIGIT.search(node):
        return True
    owner = node.getparent()
    if owner is not None and node.is_tail:
        owner = owner.getparent()
    if owner is None:
        return False
    if _DATE_CLASS.search(owner.get("class") or ""):
        return True
    el = owner
    for _ in range(_TIME_DEPTH):
        if el is None:
            break
        if el.tag == "time":
            return True
        el = el.getparent()
    return False


def byline_from_text(tree: lxml_html.HtmlElement) -> str | None:
    for xpath in BYLINE_XPATHS:
        values = [" ".join(str(v).split()) for v in tree.xpath(xpath) if not _in_date(v)]
        value = clean_byline(" ".join(v for v in values if v))
        if value and len(value) < MAX_BYLINE_CHARS:
            return value
    return None


def from_text(tree: lxml_html.HtmlElement, have: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Field -> value from the visible markup, skipping the fields in `have`.

    Titles are always read (any of them may open the body); the rest are whole-tree
    searches, done only for what JSON-LD and meta tags did not say.
    """
    out: dict[str, Any] = {
        "title": _first(tree, "//h1//text()"),
        "page_title": _first(tree, "//title/text()"),
    }
    if "authors" not in have:
        out["byline"] = byline_from_text(tree)
        out["authors"] = split_authors(out["byline"]) if out["byline"] else []
    if "published" not in have:
        out["published"] = parse_date(_first(tree, "//time[@datetime]/@datetime"))
    if "modified" not in have:
        out["modified"] = parse_date(_first(tree, "//time[@itemprop='dateModified']/@datetime"))
    if "tags" not in have:
        out["tags"] = _split_tags([str(v) for v in tree.xpath("//a[@rel='tag']/text()")])
    return out


def from_jsonld(tree: lxml_html.HtmlElement) -> dict[str, Any]:
    ld = jsonld.read(tree)
    return {
        "title": ld.title,
        "authors": ld.authors,
        "byline": ", ".join(ld.authors) if ld.authors else None,
        "published": parse_date(ld.published),
        "modified": parse_date(ld.modified),
        "site": ld.site,
        "canonical_url": ld.canonical_url,
        "top_image": ld.top_image,
        "section": ld.section,
        "tags": ld.tags,
        "language": ld.language,
    }


def merge(found: dict[MetadataSource, dict[str, Any]]) -> Metadata:
    """Each field from the first source, in its precedence order, that has a value."""
    md = Metadata()
    for name in FIELDS:
        for source in ORDER.get(name, DEFAULT_ORDER):
            value = found.get(source, {}).get(name)
            if value:
                setattr(md, name, value)
                md.sources[name] = source
                if name == "authors":
                    md.byline = found[source].get("byline") or ", ".join(value)
                break
    text = found.get("text", {})
    if md.title is None and text.get("page_title"):
        md.title, md.sources["title"] = text["page_title"], "text"
    titles = [found.get(s, {}).get("title") for s in DEFAULT_ORDER] + [text.get("page_title")]
    md.titles = [t for t in dict.fromkeys(titles) if t]
    return md


def read(tree: lxml_html.HtmlElement) -> Metadata:
    """All metadata of a parsed page; read before cruft removal (bylines sit in dropped parts)."""
    found: dict[MetadataSource, dict[str, Any]] = {
        "json-ld": from_jsonld(tree),
        "meta": from_meta(tree),
    }
    have = frozenset(name for values in found.values() for name, value in values.items() if value)
    found["text"] = from_text(tree, have)
    return merge(found)


def dates_from_text(tree: lxml_html.HtmlElement, md: Metadata) -> None:
    """htmldate's search of the whole page, for pages without date markup (slower)."""
    from htmldate import find_date

    if md.published is None:
        try:
            found = find_date(tree, original_date=True, extensive_search=False)
        except (ValueError, TypeError):
            found = None
        md.published = parse_date(found)
        if md.published is not None:
            md.sources["published"] = "text"
