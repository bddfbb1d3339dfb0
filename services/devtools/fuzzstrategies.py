"""Hypothesis strategies that build structured hostile inputs for each fuzz target.

Byte mutation (atheris) rarely gets past a parser's first check; these build documents
that do: feeds with random elements, attributes, entities, encodings, BOMs and gzip;
HTML with deep nesting, odd charsets, JSON-LD and cruft; records of every topic with
fields of the wrong type, missing or extra. Each strategy yields the bytes its target
in `fuzztargets` takes, so a generated case replays like any other.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import json
from typing import Any

from hypothesis import strategies as st

from services.devtools.fuzztargets import FEED_TYPES, PAGE_TYPES

ENCODINGS = (
    "utf-8",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "cp1252",
    "cp1251",
    "koi8-r",
    "shift_jis",
    "euc-jp",
    "gb18030",
    "big5",
    "iso-2022-jp",
    "utf-7",
    "ascii",
)
# Labels as servers and documents write them: real, misspelt, Python-only and hostile.
LABELS = (
    *ENCODINGS,
    "UTF8",
    "utf_8",
    " Windows-1252 ",
    "x-sjis",
    "iso-8859-8-i",
    "unicode",
    "base64",
    "rot13",
    "idna",
    "undefined",
    "hex",
    "zlib",
    "utf-8\x00",
    "",
    "\xff",
    "mbcs",
    "x-user-defined",
    "replacement",
    "utf-16be",
    "ucs-2",
    "csunicode",
)
BOMS = (b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE)

# Text that stresses parsers: entities (defined and not), references to surrogates and
# NUL, markup inside text, right-to-left marks, combining characters, very long words.
NASTY_TEXT = (
    "&amp;",
    "&nbsp;",
    "&#0;",
    "&#xD800;",
    "&#x110000;",
    "&#65;",
    "&bogus;",
    "&",
    "<",
    "]]>",
    "<![CDATA[x]]>",
    "<!-- c -->",
    "\u202e",
    "e\u0301",
    "\ufeff",
    "\x00",
    "\x0b",
    "\ud800",
    "\U0001f600",
    "‘",
    "“quoted,” he said",
    "Mr. Smith",
    "x" * 300,
    "\r\n",
    " ",
    "Sun, 07 Dec 2025 10:00:00 GMT",
    "2025-02-30T25:61:00Z",
    "0000-00-00",
    "9999-12-31T23:59:59Z",
    "javascript:alert(1)",
    "http://[::1",
    "//evil.example/x",
    "http://127.0.0.1/a",
)


@functools.cache
def _text(max_size: int = 40) -> st.SearchStrategy[str]:
    # Drawn character by character, st.text is hypothesis's slowest part: short runs of
    # it, mixed with whole nasty strings, keep a case to about a millisecond.
    return st.one_of(
        st.text(max_size=min(max_size, 12)),
        st.sampled_from(NASTY_TEXT),
        st.lists(st.sampled_from(NASTY_TEXT), max_size=4).map("".join),
    )


FEED_TAGS = (
    "rss",
    "channel",
    "item",
    "title",
    "link",
    "guid",
    "description",
    "pubDate",
    "ttl",
    "author",
    "dc:creator",
    "dc:date",
    "content:encoded",
    "enclosure",
    "category",
    "feed",
    "entry",
    "id",
    "updated",
    "published",
    "summary",
    "content",
    "name",
    "source",
    "rdf:RDF",
    "urlset",
    "url",
    "loc",
    "lastmod",
    "news:news",
    "news:publication",
    "news:publication_date",
    "news:title",
    "sitemapindex",
    "sitemap",
    "media:content",
    "x",
)
FEED_ATTRS = (
    "href",
    "rel",
    "type",
    "xml:base",
    "xml:lang",
    "isPermaLink",
    "rdf:about",
    "length",
    "url",
    "mode",
    "version",
    "xmlns",
    "xmlns:dc",
    "src",
)
NAMESPACES = (
    'xmlns="http://www.w3.org/2005/Atom"',
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"',
    'xmlns:dc="http://purl.org/dc/elements/1.1/"',
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
    'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"',
    'xmlns:content="http://purl.org/rss/1.0/modules/content/"',
    'version="2.0"',
    "",
)


def _attr(name: str, value: str, quote: str) -> str:
    if not quote:
        words = value.split()
        return f" {name}={words[0] if words else 'x'}"
    return f" {name}={quote}{value.replace(quote, '')}{quote}"


@functools.cache
def _attrs(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    pair = st.builds(_attr, st.sampled_from(names), _text(20), st.sampled_from(('"', "'", "")))
    return st.lists(pair, max_size=3).map("".join)


@functools.cache
def _element(tags: tuple[str, ...], attrs: tuple[str, ...], depth: int) -> st.SearchStrategy[str]:
    leaf = st.builds(
        lambda t, a, x, close: f"<{t}{a}>{x}" + (f"</{t}>" if close else ""),
        st.sampled_from(tags),
        _attrs(attrs),
        _text(),
        st.integers(0, 9).map(lambda n: n > 0),
    )
    if depth <= 0:
        return leaf
    inner = st.lists(_element(tags, attrs, depth - 1), max_size=3).map("".join)
    return st.one_of(
        leaf,
        st.builds(
            lambda t, a, x: f"<{t}{a}>{x}</{t}>", st.sampled_from(tags), _attrs(attrs), inner
        ),
    )


@functools.cache
def _pick(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One cached strategy per option tuple: a strategy made afresh inside a composite is
    validated again on every draw, which costs more than the draw."""
    return st.sampled_from(options)


@functools.cache
def _int(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def _encode(text: str, encoding: str, bom: bytes) -> bytes:
    return bom + text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")


@st.composite
def xml_feeds(draw: st.DrawFn) -> bytes:
    root = draw(_pick(("rss", "feed", "rdf:RDF", "urlset", "sitemapindex", "channel")))
    body = draw(_FEED_BODY)
    if root == "rss":
        body = f"<channel><title>{draw(_text())}</title>{body}</channel>"
    ns = " ".join(draw(_NAMESPACE_LISTS))
    encoding = draw(_pick(ENCODINGS))
    declared = draw(_pick((encoding, *LABELS)))
    prolog = draw(
        st.sampled_from(
            (
                "",
                f'<?xml version="1.0" encoding="{declared}"?>',
                '<?xml version="1.0"?>',
                '<!DOCTYPE rss [<!ENTITY a "aaaa">]>',
                '<?xml-stylesheet href="x"?>',
            )
        )
    )
    text = f"{prolog}<{root} {ns}>{body}</{root}>"
    data = _encode(text, encoding, draw(_pick(BOMS)))
    if draw(_int(0, 19)) == 0:
        data = gzip.compress(data, mtime=0)
    if draw(_int(0, 9)) == 0:
        data = data[: draw(_int(0, len(data)))]  # a body cut off mid-transfer
    return data + bytes([draw(_int(0, len(FEED_TYPES) - 1))])


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    _text(),
    st.just("\ud800"),
    st.just("2025-12-07T10:00:00Z"),
    st.just(""),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_text(12), inner, max_size=4)
    ),
    max_leaves=12,
)


# Strategies built once: one made inside a composite is validated again on every draw.
_FEED_BODY = st.lists(_element(FEED_TAGS, FEED_ATTRS, 2), max_size=5).map("".join)
_NAMESPACE_LISTS = st.lists(st.sampled_from(NAMESPACES), max_size=3)
_AUTHORS = st.one_of(st.just([{"name": "A"}]), JSON_VALUES)
_FORMS = ("; charset={}", ';charset="{}"', "; CHARSET='{}'", "; charset={} ; charset=utf-8")
_CHARSET_PARAMS = st.lists(st.tuples(st.sampled_from(_FORMS), st.sampled_from(LABELS)), max_size=2)
_ODD_VALUES: st.SearchStrategy[Any] = st.sampled_from(([], {}, None, -1, 2**64, "", [None], 1e308))
_STRANGERS = st.dictionaries(_text(10), JSON_VALUES, max_size=2)
_MAYBE_TEXT = st.one_of(st.none(), _text())
_AUTHOR_LISTS = st.lists(_text(20), max_size=3)


@st.composite
def json_feeds(draw: st.DrawFn) -> bytes:
    item = {
        "id": draw(JSON_VALUES),
        "url": draw(_pick(("http://j.example/1", "/rel", ""))),
        "title": draw(JSON_VALUES),
        "content_html": draw(_text()),
        "date_published": draw(_pick(NASTY_TEXT)),
        "authors": draw(_AUTHORS),
    }
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": draw(JSON_VALUES),
        "items": draw(st.one_of(st.lists(st.just(item), max_size=3), JSON_VALUES)),
    }
    return _json(feed) + bytes([5])  # application/feed+json


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


HTML_TAGS = (
    "html",
    "head",
    "body",
    "title",
    "meta",
    "article",
    "main",
    "section",
    "div",
    "p",
    "span",
    "h1",
    "h2",
    "a",
    "ul",
    "li",
    "table",
    "tr",
    "td",
    "script",
    "style",
    "noscript",
    "time",
    "figure",
    "img",
    "br",
    "aside",
    "nav",
    "footer",
    "header",
    "blockquote",
    "pre",
    "svg",
    "iframe",
    "template",
    "form",
    "button",
    "b",
    "i",
    "em",
)
HTML_ATTRS = (
    "class",
    "id",
    "href",
    "src",
    "content",
    "name",
    "property",
    "itemprop",
    "datetime",
    "charset",
    "rel",
    "lang",
    "style",
    "hidden",
    "aria-hidden",
)
CRUFT = (
    "Share on Facebook",
    "Sign up for our newsletter",
    "We use cookies",
    "Advertisement",
    "Skip to content",
    "top of page",
    "Related stories",
    "By Jane Doe, Staff Writer",
    "Published 7 December 2025",
    "© 2025 Example News",
    "Read more",
)


@st.composite
def html_pages(draw: st.DrawFn) -> bytes:
    parts = draw(
        st.lists(
            st.one_of(
                _element(HTML_TAGS, HTML_ATTRS, 2),
                st.sampled_from(CRUFT).map(lambda c: f"<p>{c}</p>"),
                st.builds(lambda s: f"<p>{s} {s}. {s}, said {s}.</p>", _text(60)),
                JSON_VALUES.map(
                    lambda v: f'<script type="application/ld+json">{json.dumps(v)}</script>'
                ),
                st.sampled_from(LABELS).map(lambda c: f'<meta charset="{c}">'),
                st.sampled_from(LABELS).map(
                    lambda c: f'<meta http-equiv="Content-Type" content="text/html; charset={c}">'
                ),
            ),
            max_size=8,
        )
    )
    deep = draw(_pick((0, 0, 0, 50, 255, 260, 1000)))
    html = "<html><head><title>" + draw(_text()) + "</title></head><body>"
    html += "<div>" * deep + "".join(parts) + "</div>" * deep + "</body></html>"
    encoding = draw(_pick(ENCODINGS))
    data = _encode(html, encoding, draw(_pick(BOMS)))
    return data + bytes([draw(_int(0, len(PAGE_TYPES) - 1))])


_HTTP_BODIES = st.one_of(html_pages(), st.binary(max_size=300))


@st.composite
def http_responses(draw: st.DrawFn) -> bytes:
    media = draw(
        st.sampled_from(
            (
                "text/html",
                "application/xhtml+xml",
                "text/plain",
                "TEXT/HTML",
                "image/png",
                "",
                "text/html;",
                "application/json",
            )
        )
    )
    params = draw(_CHARSET_PARAMS)
    media += "".join(form.format(label) for form, label in params)
    header = media.replace("\n", " ").encode("latin-1", "replace")
    body = draw(_HTTP_BODIES)
    return header + b"\n" + body


def _mangle(record: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    """Fields replaced by values of any type, dropped, or joined by strangers."""
    out = dict(record)
    keys = sorted(out)
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)) if keys else []:
        choice = draw(_int(0, 3))
        if choice == 0:
            del out[key]
        elif choice == 1:
            out[key] = draw(JSON_VALUES)
        elif choice == 2 and isinstance(out[key], str):
            out[key] = draw(_text(200))
        else:
            out[key] = draw(_ODD_VALUES)
    for key, value in draw(_STRANGERS).items():
        out[key] = value
    return out


@functools.cache
def _prose() -> st.SearchStrategy[str]:
    word = st.one_of(
        st.sampled_from(
            (
                "Paris",
                "France",
                "Georgia",
                "the",
                "said",
                "Mr.",
                "Dr.",
                "AP",
                "UN",
                "Biden",
                "Tokyo",
                "“",
                "”",
                '"',
                "'",
                "—",
                "(",
                ")",
                "\n\n",
                ".",
                ",",
                "Minister",
                "Reuters",
                "Washington",
                "Springfield",
            )
        ),
        _text(15),
    )
    return st.lists(word, max_size=120).map(" ".join)


_MAYBE_PROSE = st.one_of(st.none(), _prose())


@st.composite
def article_records(draw: st.DrawFn, base: Any = None) -> bytes:
    text = draw(_prose())
    record: dict[str, Any] = {
        "id": draw(_text(20)) or "a",
        "url": draw(_pick(("http://a.example/x", "", "x"))),
        "title": draw(_MAYBE_PROSE),
        "text": text,
        "paragraphs": text.split("\n\n"),
        "byline": draw(_MAYBE_TEXT),
        "authors": draw(_AUTHOR_LISTS),
        "language_hint": draw(_pick((None, "en", "fr", "de", "xx", "", "zh-Hant"))),
        "published": draw(_pick((None, "2025-12-07T10:00:00Z", "1900-01-01T00:00:00Z"))),
        "trace": {"fetched_at": "2025-12-07T10:00:00Z", "stages": {}},
    }
    if draw(_int(0, 3)) == 0:
        record = _mangle(record, draw)
    return _json(record)


@st.composite
def records_of(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed record (any topic) with fields mangled, or cut, or as invalid JSON."""
    raw: bytes = draw(_pick(tuple(seeds)))
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, dict):
        value = _mangle(value, draw)
        for key in ("article", "prep", "record", "lookups"):
            if isinstance(value.get(key), dict):
                value[key] = _mangle(value[key], draw)
    data = _json(value)
    cut = draw(_int(0, 9))
    return data[: len(data) * cut // 10] if cut < 2 else data


@st.composite
def page_records(draw: st.DrawFn) -> bytes:
    """newswire.pages records around a generated page body."""
    body = draw(html_pages())
    content_type = draw(_pick(PAGE_TYPES))[0]
    return _json(
        {
            "article_id": "p",
            "url": "http://p.example/a",
            "final_url": draw(
                st.sampled_from(
                    (
                        "http://p.example/a",
                        "",
                        "http://[::1",
                        "mailto:x",
                        "http://p.example/" + "a" * 50,
                    )
                )
            ),
            "status": 200,
            "content_type": content_type,
            "body": body.decode("utf-8", "replace"),
            "body_bytes": len(body),
            "entry": {
                "entry_id": "e",
                "feed_url": "http://p.example/f",
                "link": "http://p.example/a",
                "title": draw(_MAYBE_TEXT),
                "published": draw(_pick((None, "2025-12-07T10:00:00Z"))),
            },
        }
    )


def strategy_for(target: str, seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """The structured input strategy of one target."""
    if target == "feeds":
        return st.one_of(xml_feeds(), xml_feeds(), json_feeds())
    if target == "charset":
        return http_responses()
    if target == "extraction":
        return html_pages()
    if target == "enrichment":
        return st.one_of(article_records(), article_records(), records_of(seeds))
    if target == "cleaner-record":
        return st.one_of(records_of(seeds), page_records())
    if target == "selftest":
        return st.sampled_from((b"ok", b"ok", b"crash", b"hang", b"die"))
    if target in ("dedup", "models"):
        return records_of(seeds)
    raise KeyError(target)
