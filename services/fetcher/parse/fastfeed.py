"""A fast path for plain RSS 2.0 / 0.9x and Atom 1.0 feeds: lxml instead of feedparser.

feedparser costs about a millisecond for a small feed; most feeds are plain, well-formed
RSS 2.0 or Atom 1.0 that a strict XML parser reads in tens of microseconds. parse_fast
reads those, reproducing what `rss.parse_with_feedparser` gives on every field but
one, and returns None for anything it is not certain about, so the caller falls back to
feedparser. It refuses: a DOCTYPE or entity declaration, any XML error, an encoding
other than UTF-8 (or US-ASCII for a pure-ASCII body served as text/*), RSS 1.0/RDF,
CDF, Atom 0.3, xml:base, any element or attribute outside a small known set, element
children where text is expected, HTML-looking RSS titles, e-mail-looking RSS authors,
dates not in strict RFC 822 or RFC 3339 form, and items whose ids collide (where
feedparser's summary would enter the id).

The exception, documented: `summary` is plain text (tags stripped, entities decoded,
whitespace collapsed), where feedparser gives sanitized HTML. Plain text, not markup:
a consumer that renders it as HTML must escape it like any other text.

The parser is strict and safe: no entity expansion, no DTD, no network, no huge trees.
"""

from __future__ import annotations

import contextlib
import html
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urifixer
from lxml import etree

from services.fetcher.parse.model import ParsedEntry, ParsedFeed, article_link, text_as_html

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"
XML_NS = "{http://www.w3.org/XML/1998/namespace}"
_BOM = b"\xef\xbb\xbf"
# Namespaces whose mere declaration makes feedparser call an Atom document RSS 1.0/0.90.
_VERSION_NAMESPACES = {"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}
_RSS_VERSIONS = {"0.91", "0.92", "0.93", "0.94"}

# Elements whose content does not reach any field compared with feedparser (text only).
_RSS_CHANNEL_INERT = {
    "link", "description", "language", "copyright", "managingEditor", "webMaster",
    "pubDate", "lastBuildDate", "category", "generator", "docs", "rating",
    SY + "updatePeriod", SY + "updateFrequency", SY + "updateBase",
}  # fmt: skip
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_RSS_IMAGE_CHILDREN = {"title", "url", "link", "width", "height", "description"}
_RSS_ITEM_INERT = {"category", "comments"}
_ATOM_FEED_INERT = {
    ATOM + n
    for n in ("id", "subtitle", "updated", "category", "generator", "icon", "logo", "rights")
}
_ATOM_PERSON_CHILDREN = {ATOM + "name", ATOM + "email", ATOM + "uri"}

_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d{2}):(\d{2})(?::(\d{2}))? (GMT|UT|UTC|Z|EST|EDT|CST|CDT|MST|MDT|PST|PDT|[+-]\d{4})"
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_ZONES = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5}
_ZONES |= {"MST": -7, "MDT": -6, "PST": -8, "PDT": -7}
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_feedparser_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html


def _looks_like_html(text: str) -> bool:
    """feedparser's test; it needs a close tag or an entity, so plain text skips its regexes."""
    return ("<" in text or "&" in text) and _feedparser_looks_like_html(text)


_local = threading.local()


class _Refuse(Exception):
    """Not certain to match feedparser: the caller falls back to it."""


def _parser() -> Any:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            dtd_validation=False,
            remove_comments=True,
            remove_pis=True,
            strip_cdata=True,
        )
        _local.parser = parser
    return parser


def _utf8_certain(body: bytes, content_type: str | None) -> bool:
    """Whether feedparser decodes this body as UTF-8 (or it is ASCII, which reads alike)."""
    data = body[3:] if body.startswith(_BOM) else body
    if data[:1] != b"<" or data.startswith((b"\x00", b"<\x00")):
        return False
    match = RE_XML_PI_ENCODING.match(data)
    xml_encoding = match.group(1).decode("ascii", "replace").lower() if match else ""
    if xml_encoding not in ("", "utf-8"):
        return False
    if content_type is None:
        return True
    mime, charset = parse_content_type(content_type)
    charset = charset.lower()
    if mime in ("application/xml", "application/xml-dtd") or (
        mime.startswith("application/") and mime.endswith("+xml")
    ):
        return charset in ("", "utf-8")
    if mime == "text/xml" or (mime.startswith("text/") and mime.endswith("+xml")):
        return charset == "utf-8" or (charset == "" and body.isascii())
    return False


def _fix(text: str) -> str:
    """What feedparser's strict parser does to every text value it keeps (mixin.pop)."""
    if text.isascii():
        return text  # both steps leave ASCII as it is
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


def _text(el: Any) -> str:
    """The element's text, stripped; refused when it has children or attributes beyond xml:lang."""
    if len(el):
        raise _Refuse
    for name in el.attrib:
        if name != XML_NS + "lang":
            raise _Refuse
    return str(el.text or "").strip()


def _date(el: Any) -> datetime:
    """A date as feedparser's _parse_date gives it, for the forms it parses unambiguously."""
    value = _fix(_text(el))
    if m := _RFC3339.fullmatch(value):
        y, mo, d, h, mi, s, zone = m.groups()
        offset = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6]))
        offset = -offset if zone.startswith("-") else offset
    elif m := _RFC822.fullmatch(value):
        d, mon, y, h, mi, s, zone = m.groups()
        mo = str(_MONTHS[mon])
        s = s or "0"
        if zone[0] in "+-":
            offset = int(zone[1:3]) * 60 + int(zone[3:5])
            offset = -offset if zone.startswith("-") else offset
        else:
            offset = _ZONES[zone] * 60
    else:
        raise _Refuse
    try:
        stamp = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError:
        raise _Refuse from None
    if not 1971 <= stamp.year <= 9998:
        raise _Refuse
    # feedparser gives a UTC struct_time, then rss._when takes calendar.timegm of it:
    # for whole seconds that is this instant, tagged UTC.
    return (stamp - timedelta(minutes=offset)).replace(tzinfo=UTC)


def _plain(el: Any) -> str | None:
    """Summary as safe plain text: markup stripped, entities decoded, whitespace collapsed."""
    if len(el):
        raise _Refuse
    raw = str(el.text or "")
    text = _TAGS.sub(" ", html.unescape(_TAGS.sub(" ", raw)))
    text = _SPACE.sub(" ", text.replace("<", " ").replace(">", " ")).strip()
    return text or None


def _raw(el: Any) -> str | None:
    """An element's content as the feed gives it (HTML for content:encoded and Atom
    type="html"), for the article when its page cannot be had."""
    return str(el.text or "").strip() or None


def _uri(text: str) -> str:
    """feedparser's _urifixer.sub(r"\1\3", text): drops the slashes after "scheme://".
    Its pattern is anchored and its last group matches empty, so this is the same
    without a template substitution per link."""
    if "://" not in text or (m := _urifixer.match(text)) is None or not m.group(2):
        return text
    return str(m.group(1)) + text[m.end(2) :]


class _Item:
    """One entry as feedparser builds it: the fields article_link and parse_feed read."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {"links": []}
        self.title: str | None = None
        self.guid: str | None = None
        self.summary: str | None = None
        self.content: str | None = None
        self.authors: list[str] = []
        self.published: datetime | None = None
        self.updated: datetime | None = None
        self.has_updated = False  # an update date element, parsed or not
        self.seen: set[str] = set()

    def once(self, tag: str) -> None:
        if tag in self.seen:
            raise _Refuse
        self.seen.add(tag)

    def set_id(self, el: Any, permalink: bool, allowed: set[str]) -> None:
        value = _text_attrs(el, allowed)
        if permalink:
            value = _uri(value)
        value = _fix(value)
        self.guid = value or None
        if permalink:
            self.fields.setdefault("link", value)


def _text_attrs(el: Any, allowed: set[str]) -> str:
    if len(el):
        raise _Refuse
    for name in el.attrib:
        if name not in allowed and name != XML_NS + "lang":
            raise _Refuse
    return str(el.text or "").strip()


def _check_attrs(el: Any, allowed: set[str]) -> None:
    for name in el.attrib:
        if name not in allowed and name != XML_NS + "lang":
            raise _Refuse


def _rss_item(el: Any) -> _Item:
    _check_attrs(el, set())
    item = _Item()
    for child in el:
        tag = child.tag
        if tag == "title":
            item.once(tag)
            title = _text(child)
            if _looks_like_html(title):
                raise _Refuse  # feedparser would treat it as HTML and sanitize it
            item.title = _fix(title) or None
        elif tag == "link":
            item.once(tag)
            text = _text(child)
            if not text:
                raise _Refuse
            value = _fix(_uri(text)).replace("&amp;", "&")
            if "&" in value:
                value = _LINK_ENTITY.sub(r"&\g<1>", value)
            item.fields["link"] = value
            item.fields["links"].append({"rel": "alternate", "type": "text/html", "href": value})
        elif tag == "guid":
            item.once(tag)
            item.set_id(child, child.get("isPermaLink", "true") == "true", {"isPermaLink"})
        elif tag == "pubDate":
            item.once(tag)
            item.published = _date(child)
        elif tag == DC + "date":
            item.once(tag)
            item.updated, item.has_updated = _date(child), True
        elif tag in ("author", DC + "creator"):
            name = _fix(_text(child))
            if "@" in name:
                raise _Refuse  # feedparser splits out an e-mail address its own way
            if name:
                item.authors.append(name)
        elif tag == "description":
            item.once(tag)
            item.summary = _plain(child)
        elif tag == CONTENT + "encoded":
            item.once(tag)
            _plain(child)
            item.content = _raw(child)
        elif tag == "enclosure":
            _check_attrs(child, {"url", "length", "type"})
            if len(child) or (child.text or "").strip():
                raise _Refuse
        elif tag == "source":
            item.once(tag)
            _text_attrs(child, {"url"})
        elif tag in _RSS_ITEM_INERT:
            _text_attrs(child, {"domain"})
        else:
            raise _Refuse
    return item


def _atom_entry(el: Any) -> _Item:
    _check_attrs(el, set())
    item = _Item()
    for child in el:
        tag = child.tag
        if tag == ATOM + "title":
            item.once(tag)
            item.title = _atom_title(child) or None
        elif tag == ATOM + "id":
            item.once(tag)
            item.set_id(child, True, set())
        elif tag == ATOM + "link":
            _check_attrs(child, {"href", "rel", "type", "hreflang", "title", "length"})
            if len(child) or (child.text or "").strip() or child.get("href") is None:
                raise _Refuse
            link = {k: v.lower() if k in ("rel", "type") else v for k, v in child.attrib.items()}
            link.setdefault("rel", "alternate")
            self_link = link["rel"] == "self"
            link.setdefault("type", "application/atom+xml" if self_link else "text/html")
            link["href"] = _uri(link["href"])
            item.fields["links"].append(link)
            if link["rel"] == "alternate" and link["type"] in _HTML_TYPES:
                item.fields["link"] = link["href"]
        elif tag == ATOM + "updated":
            item.once(tag)
            item.updated, item.has_updated = _date(child), True
        elif tag == ATOM + "published":
            item.once(tag)
            item.published = _date(child)
        elif tag == ATOM + "author":
            name = _atom_person(child)
            if name:
                item.authors.append(name)
        elif tag == ATOM + "contributor":
            _atom_person(child)
        elif tag in (ATOM + "summary", ATOM + "content"):
            item.once(tag)
            _check_attrs(child, {"type"})
            if child.get("type", "text") not in ("text", "html"):
                raise _Refuse
            summary = _plain(child)
            if tag == ATOM + "summary" or item.summary is None:
                item.summary = summary
            if tag == ATOM + "content":
                raw = _raw(child)
                kind = child.get("type", "text")
                item.content = raw if kind == "html" or raw is None else text_as_html(raw)
        elif tag == ATOM + "category":
            _check_attrs(child, {"term", "scheme", "label"})
            _text(child)
        elif tag == ATOM + "rights":
            _text_attrs(child, {"type"})
        else:
            raise _Refuse
    return item


def _atom_title(el: Any) -> str:
    kind = el.get("type", "text")
    title = _text_attrs(el, {"type"})
    if kind == "html" and any(c in title for c in "<>&"):
        raise _Refuse  # feedparser sanitizes HTML titles: markup, entities
    if kind not in ("text", "html"):
        raise _Refuse
    return _fix(title)


def _atom_person(el: Any) -> str | None:
    """An Atom author's name as feedparser keeps it: stripped, untouched otherwise."""
    _check_attrs(el, set())
    if (el.text or "").strip():
        raise _Refuse
    name: str | None = None
    seen: set[str] = set()
    for child in el:
        if child.tag not in _ATOM_PERSON_CHILDREN or child.tag in seen:
            raise _Refuse
        seen.add(child.tag)
        value = _text(child)
        if (child.tail or "").strip():
            raise _Refuse
        if child.tag == ATOM + "name":
            name = value
    return name or None


def _no_xml_base(root: Any) -> None:
    for el in root.iter():
        if XML_NS + "base" in el.attrib:
            raise _Refuse


def _rss(root: Any) -> tuple[str | None, int | None, list[_Item]]:
    version = root.get("version", "")
    if not (version in _RSS_VERSIONS or version.startswith("2.")):
        raise _Refuse
    _check_attrs(root, {"version"})
    if len(root) != 1 or root[0].tag != "channel":
        raise _Refuse
    channel = root[0]
    _check_attrs(channel, set())
    title: str | None = None
    ttl: int | None = None
    items: list[_Item] = []
    seen: set[str] = set()
    for child in channel:
        tag = child.tag
        if tag == "item":
            items.append(_rss_item(child))
            continue
        if tag in seen and tag not in ("category", ATOM + "link"):
            raise _Refuse
        seen.add(tag)
        if tag == "title":
            value = _text(child)
            if _looks_like_html(value):
                raise _Refuse
            title = _fix(value)
        elif tag == "ttl":
            value = _fix(_text(child))
            if not value.isascii():
                raise _Refuse
            ttl = int(value) * 60 if value.isdigit() else None
        elif tag == "image":
            _check_attrs(child, set())
            for part in child:
                if part.tag not in _RSS_IMAGE_CHILDREN:
                    raise _Refuse
                _text(part)
        elif tag == ATOM + "link":
            _check_attrs(child, {"href", "rel", "type", "hreflang", "title", "length"})
            if child.get("href") is None or len(child) or (child.text or "").strip():
                raise _Refuse
        elif tag in _RSS_CHANNEL_INERT:
            _text_attrs(child, {"domain"})
        elif tag in ("cloud", "skipHours", "skipDays"):
            for part in child.iter():
                if part is not child and part.tag not in ("hour", "day"):
                    raise _Refuse
        else:
            raise _Refuse
    return title, ttl, items


def _atom(root: Any) -> tuple[str | None, int | None, list[_Item]]:
    if any(str(ns).lower() in _VERSION_NAMESPACES for ns in root.nsmap.values()):
        raise _Refuse
    _check_attrs(root, set())
    title: str | None = None
    items: list[_Item] = []
    seen: set[str] = set()
    for child in root:
        tag = child.tag
        if tag == ATOM + "entry":
            items.append(_atom_entry(child))
            continue
        if tag == ATOM + "title":
            if tag in seen:
                raise _Refuse
            seen.add(tag)
            title = _atom_title(child)
        elif tag in (ATOM + "author", ATOM + "contributor"):
            _atom_person(child)
        elif tag == ATOM + "link":
            _check_attrs(child, {"href", "rel", "type", "hreflang", "title", "length"})
            if child.get("href") is None or len(child) or (child.text or "").strip():
                raise _Refuse
        elif tag in _ATOM_FEED_INERT:
            _text_attrs(child, {"type", "uri", "version", "term", "scheme", "label"})
        else:
            raise _Refuse
    return title, None, items


def parse_fast(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed | None:
    """The feed, parsed with lxml, as feedparser would give it; None when unsure."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or not _utf8_certain(body, content_type):
        return None
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        # The xml prefix is the only one lxml lets name the XML namespace, and entities
        # are refused above, so without these bytes no element has an xml:base.
        if b"xml:base" in body:
            _no_xml_base(root)
        if root.tag == "rss":
            title, ttl, items = _rss(root)
        elif root.tag == ATOM + "feed":
            title, ttl, items = _atom(root)
        else:
            return None
        entries: list[ParsedEntry] = []
        used: set[str] = set()
        for item in items:
            link = article_link(item.fields, url)
            if not link:
                continue
            entry_id = item.guid or link
            if entry_id in used:
                raise _Refuse  # feedparser's (HTML) summary would enter the id
            used.add(entry_id)  # as unique_id does, for an id not seen before
            entries.append(
                ParsedEntry(
                    entry_id=entry_id,
                    link=link,
                    guid=item.guid,
                    title=item.title,
                    summary=item.summary,
                    authors=item.authors,
                    published=item.published,
                    # feedparser's updated_parsed falls back to published_parsed
                    updated=item.updated if item.has_updated else item.published,
                    content=item.content,
                )
            )
    except _Refuse:
        return None
    return ParsedFeed(title=title, ttl_seconds=ttl, entries=entries)
