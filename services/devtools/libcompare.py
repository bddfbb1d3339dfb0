"""Newswire's own robots.txt matcher, WHATWG charset labels and URL canonicaliser beside the
maintained libraries that do the same job, on the same cases (issue #18 item 7).

Each case is one assertion of the unit tests of those modules (tests/unit/fetcher's
robots tests, tests/unit/common/test_charset.py
for charsets, tests/unit/common/test_urls.py), an example of RFC 9309 (robots.txt), a label
of the WHATWG Encoding Standard's table, or (marked "beyond the tests") a case no test
checks yet. Each runs through our function and each library's equivalent:

- robots: `parse_rules(text).allows(token, url)` / `.crawl_delay(token)` against protego's
  `Protego.parse(text).can_fetch(url, token)` / `.crawl_delay(token)`. What happens when
  robots.txt answers 4xx or 5xx (RFC 9309 2.3.1) is the fetcher's RobotsCache either way,
  not the parser's: not compared.
- charset: `whatwg_codec(label)` and `decode_body(body, header_charset)` against w3lib's
  `resolve_encoding(label)` and `html_to_unicode("text/html; charset=<label>", body)`.
- urls: `canonical_url`, `registrable_domain` and article-id equality against courlan's
  `clean_url` (its scrub + normalise helper) and `extract_domain`, and w3lib's
  `canonicalize_url`.

A library that is not installed shows as "not installed" (they are not project
dependencies: `pip install --target DIR protego w3lib` and PYTHONPATH=DIR to run them).
Writes every row to --out (JSON) and --table (Markdown), prints the table, and ends with
one JSON line: per component, the cases and how many each side passes, in all and among
those that matter.

    python -m services.devtools.libcompare --out results/libcompare.json
"""

from __future__ import annotations

import argparse
import codecs
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urljoin, urlsplit

from services.common.charset import decode_body, whatwg_codec
from services.common.urls import canonical_url, registrable_domain
from services.fetcher.net import robots

AGENT = "NewswireBot"  # the product token RobotsCache matches groups with
NOT_INSTALLED = "not installed"
NOT_APPLICABLE = "n/a"


def _lib(name: str) -> Any:
    """A library module, imported by name: protego and w3lib are no project dependencies
    (so neither mypy nor the lock knows them); courlan comes with trafilatura."""
    return importlib.import_module(name)


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


Thunk = Callable[[], object]


@dataclass(frozen=True)
class Case:
    component: str  # robots | charset | urls
    name: str
    source: str  # where the expectation comes from
    expected: object
    ours: Thunk
    libraries: dict[str, Thunk | None] = field(default_factory=dict)  # None: no equivalent
    matters: bool = True
    why: str = ""  # for a case that does not matter: why not


@dataclass
class Row:
    component: str
    name: str
    source: str
    matters: bool
    expected: str
    ours: str
    ours_ok: bool
    libraries: dict[str, str]
    libraries_ok: dict[str, bool | None]  # None: not installed or no equivalent
    why: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _run(thunk: Thunk) -> tuple[object, bool]:
    """(value, True), or (the exception's type and message, False)."""
    try:
        return thunk(), True
    except Exception as exc:  # a library's failure is a result here, not a crash
        return f"{type(exc).__name__}: {str(exc)[:60]}", False


def evaluate(case: Case, installed: dict[str, bool]) -> Row:
    ours, ran = _run(case.ours)
    libraries: dict[str, str] = {}
    libraries_ok: dict[str, bool | None] = {}
    for name, thunk in case.libraries.items():
        if not installed.get(name, False):
            libraries[name], libraries_ok[name] = NOT_INSTALLED, None
        elif thunk is None:
            libraries[name], libraries_ok[name] = NOT_APPLICABLE, None
        else:
            value, lib_ran = _run(thunk)
            libraries[name] = _show(value)
            libraries_ok[name] = lib_ran and value == case.expected
    return Row(
        case.component,
        case.name,
        case.source,
        case.matters,
        _show(case.expected),
        _show(ours),
        ran and ours == case.expected,
        libraries,
        libraries_ok,
        case.why,
    )


# --- robots.txt ------------------------------------------------------------------------


def _ours_allows(text: str, path: str, agent: str = AGENT) -> Thunk:
    return lambda: robots.parse_rules(text, ttl_s=60).allows(agent, f"https://n.example{path}")


def _ours_delay(text: str, agent: str) -> Thunk:
    return lambda: robots.parse_rules(text, ttl_s=60).crawl_delay(agent)


def _protego_allows(text: str, path: str, agent: str = AGENT) -> Thunk:
    def run() -> object:
        return _lib("protego").Protego.parse(text).can_fetch(f"https://n.example{path}", agent)

    return run


def _protego_delay(text: str, agent: str) -> Thunk:
    def run() -> object:
        return _lib("protego").Protego.parse(text).crawl_delay(agent)

    return run


def _allows(name: str, source: str, text: str, path: str, expected: bool, **kw: Any) -> Case:
    agent = kw.pop("agent", AGENT)
    return Case(
        "robots",
        name,
        source,
        expected,
        _ours_allows(text, path, agent),
        {"protego": _protego_allows(text, path, agent)},
        **kw,
    )


def _delay(name: str, source: str, text: str, agent: str, expected: float | None) -> Case:
    return Case(
        "robots",
        name,
        source,
        expected,
        _ours_delay(text, agent),
        {"protego": _protego_delay(text, agent)},
    )


# tests/unit/fetcher: test_rfc9309_matching, each under "User-agent: *".
RFC9309_MATCHING: list[tuple[str, str, bool]] = [
    ("Disallow: /*/print/", "/2024/05/print/story", False),
    ("Disallow: /*/print/", "/2024/05/story", True),
    ("Disallow: /*.pdf$", "/files/report.pdf", False),
    ("Disallow: /*.pdf$", "/files/report.pdf?page=2", True),
    ("Disallow: /*.pdf$", "/files/report.pdfx", True),
    ("Disallow: /*?share=", "/story?share=twitter", False),
    ("Disallow: /*?share=", "/story?id=1", True),
    ("Disallow: /*?share=", "/story", True),
    ("Disallow: /\nAllow: /news/", "/news/story", True),
    ("Disallow: /\nAllow: /news/", "/sport/story", False),
    ("Allow: /news/\nDisallow: /news/drafts/", "/news/drafts/1", False),
    ("Disallow: /news/drafts/\nAllow: /news/", "/news/drafts/1", False),
    ("Disallow: /page\nAllow: /page", "/page/1", True),
    ("Allow: /page\nDisallow: /*.html", "/page.html", False),
    ("Disallow:", "/anything", True),
    ("Disallow: /", "/robots.txt", True),
    ("Disallow: /foo/bar/%62%61%7A", "/foo/bar/baz", False),
    ("Disallow: /foo/bar/baz", "/foo/bar/%62%61%7a", False),
    ("Disallow: /foo/bar/ツ", "/foo/bar/%E3%83%84", False),
    ("Disallow: /foo/bar/%e3%83%84", "/foo/bar/ツ", False),
    ("Disallow: /a%2Fb", "/a%2fb", False),
    ("Disallow: /a%2Fb", "/a/b", True),
]

# tests/unit/fetcher: test_user_agent_groups_and_crawl_delay.
GROUPS = """\ufeffUser-agent: OtherBot
User-agent: newswirebot/2.0   # the product token is matched, case-insensitively
Disallow: /private/
Crawl-delay: 2.5

User-agent: Newswire
Disallow: /prefix-is-not-a-match/

User-agent: *
Disallow: /
Crawl-delay: 9

User-agent: NEWSWIREBOT
Disallow: /also-private/
Crawl-delay: 7
"""

# RFC 9309 section 5.1.
RFC_SIMPLE = """User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot
"""


def robots_cases() -> list[Case]:
    test = "tests/unit/fetcher test_rfc9309_matching"
    cases = [
        _allows(f"{robots!r} {path}", test, f"User-agent: *\n{robots}\n", path, allowed)
        for robots, path, allowed in RFC9309_MATCHING
    ]
    groups = "tests/unit/fetcher test_user_agent_groups_and_crawl_delay"
    cases += [
        _allows("groups: ours allowed elsewhere", groups, GROUPS, "/news/1", True),
        _allows("groups: 'newswirebot/2.0' names us", groups, GROUPS, "/private/x", False),
        _allows("groups: our groups combine", groups, GROUPS, "/also-private/x", False),
        _allows("groups: 'Newswire' is not us", groups, GROUPS, "/prefix-is-not-a-match/x", True),
        _delay("groups: first of our delays", groups, GROUPS, AGENT, 2.5),
        _allows("groups: shared group", groups, GROUPS, "/private/x", False, agent="OtherBot"),
        _allows("groups: shared group, root", groups, GROUPS, "/", True, agent="OtherBot"),
        _allows("groups: others get *", groups, GROUPS, "/news/1", False, agent="ThirdBot"),
        _delay("groups: * crawl-delay", groups, GROUPS, "ThirdBot", 9.0),
    ]
    orphan = "Disallow: /orphan\nUser-agent: OtherBot\nDisallow: /\n"
    no_group = "tests/unit/fetcher test_no_matching_group_and_bad_crawl_delay"
    cases += [
        _allows("no group for us, no *: all allowed", no_group, orphan, "/orphan", True),
        _delay("no group: no crawl-delay", no_group, orphan, AGENT, None),
    ]
    cases += [
        _delay(
            f"bad crawl-delay {bad!r}",
            no_group,
            f"User-agent: *\nCrawl-delay: {bad}\n",
            AGENT,
            None,
        )
        for bad in ("soon", "-1", "nan", "inf")
    ]
    cases.append(_hostile_pattern_case())
    rfc = "RFC 9309 5.1"
    cases += [
        _allows(
            "5.1 foobot /example/page.html",
            rfc,
            RFC_SIMPLE,
            "/example/page.html",
            True,
            agent="foobot",
        ),
        _allows(
            "5.1 foobot /example/allowed.gif",
            rfc,
            RFC_SIMPLE,
            "/example/allowed.gif",
            True,
            agent="foobot",
        ),
        _allows("5.1 foobot /other", rfc, RFC_SIMPLE, "/other", False, agent="foobot"),
        _allows(
            "5.1 barbot /example/page.html",
            rfc,
            RFC_SIMPLE,
            "/example/page.html",
            False,
            agent="barbot",
        ),
        _allows(
            "5.1 bazbot /example/page.html",
            rfc,
            RFC_SIMPLE,
            "/example/page.html",
            False,
            agent="bazbot",
        ),
        _allows("5.1 barbot /x.gif (no *)", rfc, RFC_SIMPLE, "/x.gif", True, agent="barbot"),
        _allows("5.1 quxbot: empty group", rfc, RFC_SIMPLE, "/example/x", True, agent="quxbot"),
        _allows("5.1 other: *.gif$", rfc, RFC_SIMPLE, "/a/b.gif", False, agent="OtherBot"),
        _allows("5.1 other: /example/", rfc, RFC_SIMPLE, "/example/x", False, agent="OtherBot"),
        _allows(
            "5.1 other: /publications/", rfc, RFC_SIMPLE, "/publications/x", True, agent="OtherBot"
        ),
    ]
    longest = "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n"
    cases += [
        _allows(
            "5.2 longest match: disallowed.gif",
            "RFC 9309 5.2",
            longest,
            "/example/page/disallowed.gif",
            False,
            agent="foobot",
        ),
        _allows(
            "5.2 longest match: page/",
            "RFC 9309 5.2",
            longest,
            "/example/page/",
            True,
            agent="foobot",
        ),
    ]
    twice = (
        "user-agent: ExampleBot\ndisallow: /foo\ndisallow: /bar\n\n"
        "user-agent: ExampleBot\ndisallow: /baz\n"
    )
    upper = "User-agent: EXAMPLEBOT\nDisallow: /x\n"
    cases += [
        _allows(
            "2.2.1 same agent's groups combine: /foo",
            "RFC 9309 2.2.1",
            twice,
            "/foo",
            False,
            agent="ExampleBot",
        ),
        _allows(
            "2.2.1 same agent's groups combine: /baz",
            "RFC 9309 2.2.1",
            twice,
            "/baz",
            False,
            agent="ExampleBot",
        ),
        _allows(
            "2.2.1 agent matched case-insensitively",
            "RFC 9309 2.2.1",
            upper,
            "/x",
            False,
            agent="examplebot",
        ),
    ]
    s222, s223 = "RFC 9309 2.2.2", "RFC 9309 2.2.3"
    star = "User-agent: *\n"
    cases += [
        _allows(
            "2.2.2 query is matched",
            s222,
            star + "Disallow: /foo/bar?baz=quz",
            "/foo/bar?baz=quz",
            False,
        ),
        _allows(
            "2.2.2 paths are case-sensitive", s222, star + "Disallow: /Private", "/private", True
        ),
        _allows(
            "2.2.2 allow wins an equivalent rule",
            s222,
            star + "Disallow: /p\nAllow: /p",
            "/p",
            True,
        ),
        _allows(
            "2.2.2 /robots.txt implicitly allowed",
            s222,
            star + "Disallow: /robots",
            "/robots.txt",
            True,
        ),
        _allows(
            "2.2.3 '$' end of pattern",
            s223,
            star + "Disallow: /this/path/exactly$",
            "/this/path/exactly/not",
            True,
        ),
        _allows(
            "2.2.3 '$' end of pattern, exact",
            s223,
            star + "Disallow: /this/path/exactly$",
            "/this/path/exactly",
            False,
        ),
        _allows(
            "2.2.3 '*' any characters",
            s223,
            star + "Disallow: /this/*/exactly",
            "/this/a/b/exactly",
            False,
        ),
        _allows(
            "2.2.3 %2A is a literal '*'",
            s223,
            star + "Disallow: /path/file-with-a-%2A.html",
            "/path/file-with-a-*.html",
            False,
        ),
        _allows(
            "2.2.3 %2A is not a wildcard",
            s223,
            star + "Disallow: /path/file-with-a-%2A.html",
            "/path/file-with-a-x.html",
            True,
        ),
        _allows(
            "2.2.3 %24 is a literal '$'",
            s223,
            star + "Disallow: /path/foo-%24",
            "/path/foo-$",
            False,
        ),
        _allows(
            "2.2.3 '# comment' after a rule",
            s223,
            star + "Disallow: /c # comment\n# own line\n",
            "/c",
            False,
        ),
        _allows(
            "2.1 rules before any user-agent ignored",
            "RFC 9309 2.1",
            "Disallow: /\nUser-agent: *\nDisallow: /x\n",
            "/y",
            True,
        ),
    ]
    beyond = "beyond the tests"
    cases += [
        _allows(
            "Allow: /index.html does not allow /",
            beyond + " (RFC 9309 2.2.2 longest match)",
            star + "Disallow: /\nAllow: /index.html",
            "/",
            False,
            matters=False,
            why="protego and Google's parser read it as allowing '/'; a page that lists its index",
        ),
        _allows(
            "%3D and '=' are different octets",
            beyond + " (RFC 3986 2.2: escaped reserved is distinct)",
            star + "Disallow: /q%3Dx",
            "/q=x",
            True,
            matters=False,
            why="no real robots.txt relies on it",
        ),
        _allows(
            "a '$' inside a pattern is literal",
            beyond,
            star + "Disallow: /a$b",
            "/a$b/c",
            False,
            matters=False,
            why="rare",
        ),
    ]
    return cases


def _hostile_pattern_case() -> Case:
    """test_wildcards_do_not_backtrack: not matching, and in well under a second."""
    pattern = "/" + "*a" * 40 + "*b$"
    path = "/" + "a" * 20_000
    text = f"User-agent: *\nDisallow: {pattern}\n"

    def timed(thunk: Thunk) -> Thunk:
        def run() -> object:
            start = time.perf_counter()
            allowed = thunk()
            return (allowed, time.perf_counter() - start < 0.5)

        return run

    return Case(
        "robots",
        "hostile '*a'x40 pattern, 20,000-char path: allowed, < 0.5 s",
        "tests/unit/fetcher test_wildcards_do_not_backtrack",
        (True, True),
        timed(_ours_allows(text, path)),
        {"protego": timed(_protego_allows(text, path))},
    )


# --- charsets --------------------------------------------------------------------------

# The WHATWG Encoding Standard's label table (https://encoding.spec.whatwg.org/#names-and-labels),
# by encoding name, transcribed from the spec independently of services/common/charset.py.
WHATWG_TABLE = """
utf-8 = unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8
ibm866 = 866 cp866 csibm866 ibm866
iso-8859-2 = csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987
    l2 latin2
iso-8859-3 = csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988
    l3 latin3
iso-8859-4 = csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988
    l4 latin4
iso-8859-5 = csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5
    iso_8859-5:1988
iso-8859-6 = arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6
    iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987
iso-8859-7 = csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7
    iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek
iso-8859-8 = csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8
    iso88598 iso_8859-8 iso_8859-8:1988 visual
iso-8859-8-i = csiso88598i iso-8859-8-i logical
iso-8859-10 = csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6
iso-8859-13 = iso-8859-13 iso8859-13 iso885913
iso-8859-14 = iso-8859-14 iso8859-14 iso885914
iso-8859-15 = csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9
iso-8859-16 = iso-8859-16
koi8-r = cskoi8r koi koi8 koi8-r koi8_r
koi8-u = koi8-ru koi8-u
macintosh = csmacintosh mac macintosh x-mac-roman
windows-874 = dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874
windows-1250 = cp1250 windows-1250 x-cp1250
windows-1251 = cp1251 windows-1251 x-cp1251
windows-1252 = ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100
    iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252
windows-1253 = cp1253 windows-1253 x-cp1253
windows-1254 = cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9
    iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254
windows-1255 = cp1255 windows-1255 x-cp1255
windows-1256 = cp1256 windows-1256 x-cp1256
windows-1257 = cp1257 windows-1257 x-cp1257
windows-1258 = cp1258 windows-1258 x-cp1258
x-mac-cyrillic = x-mac-cyrillic x-mac-ukrainian
gbk = chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk
gb18030 = gb18030
big5 = big5 big5-hkscs cn-big5 csbig5 x-x-big5
euc-jp = cseucpkdfmtjapanese euc-jp x-euc-jp
iso-2022-jp = csiso2022jp iso-2022-jp
shift_jis = csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis
euc-kr = cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601
    ksc_5601 windows-949
replacement = csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr replacement
utf-16be = unicodefffe utf-16be
utf-16le = csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le
x-user-defined = x-user-defined
"""


def _parse_table(text: str) -> dict[str, list[str]]:
    """`name = label label ...` lines, an indented line going on with the one above."""
    table: dict[str, list[str]] = {}
    name = ""
    for line in text.strip().splitlines():
        if line.startswith(" "):
            table[name] += line.split()
        else:
            name, _, labels = line.partition(" = ")
            table[name] = labels.split()
    return table


WHATWG_LABELS = _parse_table(WHATWG_TABLE)
# The Python codec that decodes each WHATWG encoding as browsers do (a vendor superset where
# the browser's decoder is one: GBK is decoded by the gb18030 decoder, Shift_JIS is
# Windows-31J, EUC-KR is UHC, Big5 is Big5-HKSCS). None: no Python codec does.
WHATWG_CODECS: dict[str, str | None] = {
    "utf-8": "utf-8",
    "ibm866": "cp866",
    **{f"iso-8859-{n}": f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)},
    "iso-8859-8-i": "iso8859-8",  # the same bytes; only the text direction differs
    "koi8-r": "koi8-r",
    "koi8-u": "koi8-u",
    "macintosh": "mac-roman",
    "windows-874": "cp874",
    **{f"windows-{n}": f"cp{n}" for n in range(1250, 1259)},
    "x-mac-cyrillic": "mac-cyrillic",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
    "shift_jis": "cp932",
    "euc-kr": "cp949",
    "utf-16be": "utf-16-be",
    "utf-16le": "utf-16-le",
    "replacement": None,
    "x-user-defined": None,
}


def _codec_name(name: object) -> object:
    """A codec name as codecs.lookup spells it, so two spellings of one codec compare equal."""
    if not isinstance(name, str):
        return name
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _w3lib_label(label: str) -> Thunk:
    def run() -> object:
        return _codec_name(_lib("w3lib.encoding").resolve_encoding(label))

    return run


def _header(label: str | None) -> str | None:
    return f"text/html; charset={label}" if label is not None else None


def _decoded(result: tuple[str, str]) -> tuple[str, object]:
    text, charset = result
    return text, _codec_name(charset)


def _w3lib_decode(body: bytes, label: str | None) -> Thunk:
    def run() -> object:
        charset, text = _lib("w3lib.encoding").html_to_unicode(_header(label), body)
        return text, _codec_name(charset)

    return run


def _decode_case(
    name: str, source: str, body: bytes, label: str | None, expected: tuple[str, str]
) -> Case:
    return Case(
        "charset",
        name,
        source,
        (expected[0], _codec_name(expected[1])),
        lambda: _decoded(decode_body(body, label)),
        {"w3lib": _w3lib_decode(body, label)},
    )


def _contains_case(name: str, source: str, body: bytes, label: str | None, text: str) -> Case:
    def w3lib_run() -> object:
        decoded = _w3lib_decode(body, label)()
        return isinstance(decoded, tuple) and text in decoded[0]

    return Case(
        "charset",
        name,
        source,
        True,
        lambda: text in decode_body(body, label)[0],
        {"w3lib": w3lib_run},
    )


def _meta_page(charset: str, text: str) -> str:
    return f'<html><head><meta charset="{charset}"></head><body><p>{text}</p></body></html>'


# tests/unit/common/test_charset.py: test_charset_labels_mean_what_browsers_read.
BROWSER_LABELS: list[tuple[str, str, str, str]] = [
    ("ISO-8859-1", "“Quoted” — said", "cp1252", "cp1252"),
    ("latin1", "“Quoted” — said", "cp1252", "cp1252"),
    ("us-ascii", "“Quoted” — said", "cp1252", "cp1252"),
    ("latin-1", "“Quoted” — said", "cp1252", "cp1252"),
    ("gb2312", "朱镕基总理", "gbk", "gb18030"),
    ("x-gbk", "朱镕基总理", "gbk", "gb18030"),
    ("shift_jis", "①㈱の予算", "cp932", "cp932"),
    ("x-sjis", "①㈱の予算", "cp932", "cp932"),
    ("euc-kr", "똠방각하", "cp949", "cp949"),
    ("ks_c_5601-1987", "똠방각하", "cp949", "cp949"),
    ("iso-8859-9", "€ 5 için ğ", "cp1254", "cp1254"),
    ("tis-620", "€ ภาษาไทย…", "cp874", "cp874"),
    ("iso-8859-11", "€ ภาษาไทย…", "cp874", "cp874"),
    ("utf-8", "Déjà vu — “ok” ✓ 港", "utf-8", "utf-8"),
    ("windows-1251", "Мэр заявил: «бюджет порта»", "cp1251", "cp1251"),
    ("cp1251", "Мэр заявил: «бюджет порта»", "cp1251", "cp1251"),
]


def charset_cases() -> list[Case]:
    inputs = "tests/unit/common/test_charset.py"
    french = "Le maire a déclaré « très sérieux » après le vote sur le budget du port."
    page = f'<html><head><meta charset="windows-1252"></head><body><p>{french}</p></body></html>'
    xml = f'<?xml version="1.0" encoding="iso-8859-1"?><html><body><p>{french}</p></body></html>'
    japanese = "港の予算案について市長は「非常に深刻だ」と述べた。"
    sjis = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
    sjis += f"</head><body><p>{japanese}</p></body></html>"
    declared = f"{inputs} test_declared_charsets_decode_the_body"
    cases = [
        _decode_case(
            "<meta charset=windows-1252>", declared, page.encode("cp1252"), None, (page, "cp1252")
        ),
        _decode_case(
            "<?xml encoding=iso-8859-1?> is windows-1252",
            declared,
            xml.encode("latin-1"),
            None,
            (xml, "cp1252"),
        ),
        _contains_case(
            "<meta http-equiv ... Shift_JIS>", declared, sjis.encode("shift_jis"), None, japanese
        ),
        _decode_case(
            "header beats <meta>", declared, page.encode("utf-8"), "utf-8", (page, "utf-8")
        ),
        _decode_case(
            "BOM beats header",
            declared,
            codecs.BOM_UTF8 + page.encode("utf-8"),
            "latin-1",
            (page, "utf-8"),
        ),
    ]
    labels = f"{inputs} test_charset_labels_mean_what_browsers_read"
    for label, text, body_codec, used in BROWSER_LABELS:
        body = _meta_page(label, text)
        cases.append(
            _decode_case(f"<meta> {label}", labels, body.encode(body_codec), None, (body, used))
        )
        cases.append(
            _decode_case(f"header {label}", labels, body.encode(body_codec), label, (body, used))
        )
    utf16 = f"{inputs} test_a_meta_naming_utf16_means_utf8"
    for label in ("utf-16", "UTF-16LE", "utf-16be"):
        body = _meta_page(label, "Le café — “déjà”")
        cases.append(
            _decode_case(
                f"<meta> {label} means utf-8", utf16, body.encode("utf-8"), None, (body, "utf-8")
            )
        )
    small = "<p>Le café</p>"
    cases += [
        _decode_case(
            "header utf-16 believed",
            utf16,
            small.encode("utf-16-le"),
            "utf-16",
            (small, "utf-16-le"),
        ),
        _decode_case(
            "BOM beats header utf-16",
            utf16,
            codecs.BOM_UTF8 + small.encode(),
            "utf-16",
            (small, "utf-8"),
        ),
    ]
    ignored = f"{inputs} test_labels_that_are_no_browser_charset_are_ignored"
    for label in ("base64", "undefined", "idna", "utf-32", "no-such-charset"):
        body = _meta_page(label, "Le café")
        cases.append(
            _decode_case(
                f"<meta> {label} ignored", ignored, body.encode("utf-8"), None, (body, "utf-8")
            )
        )
        cases.append(
            _decode_case(
                f"header {label}\\x00 ignored",
                ignored,
                body.encode("utf-8"),
                label + "\x00",
                (body, "utf-8"),
            )
        )
    guard = "tests/unit/common/test_charset.py"
    cases += [
        _contains_case("header iso-8859-1", guard, "café".encode("latin-1"), "iso-8859-1", "café"),
        _contains_case(
            "BOM beats header iso-8859-1", guard, b"\xef\xbb\xbfcaf\xc3\xa9", "iso-8859-1", "café"
        ),
        _contains_case(
            "<meta> windows-1252",
            guard,
            '<meta charset="windows-1252"><p>caf\xe9</p>'.encode("latin-1"),
            None,
            "café",
        ),
        _contains_case("no label: utf-8", guard, b"caf\xc3\xa9", None, "café"),
    ]
    whatwg = "WHATWG Encoding Standard, names and labels"
    for encoding, encoding_labels in WHATWG_LABELS.items():
        codec = WHATWG_CODECS[encoding]
        no_codec = codec is None
        for label in encoding_labels:
            cases.append(
                Case(
                    "charset",
                    f"label {label} -> {encoding}",
                    whatwg,
                    _codec_name(codec),
                    lambda label=label: _codec_name(whatwg_codec(label)),  # type: ignore[misc]
                    {"w3lib": _w3lib_label(label)},
                    matters=not no_codec,
                    why="no Python codec decodes it as browsers do" if no_codec else "",
                )
            )
    return cases


# --- URLs ------------------------------------------------------------------------------

# tests/unit/common/test_urls.py: test_canonical_url.
CANONICAL: list[tuple[str, str]] = [
    ("HTTP://Example.COM:80/a/b/?utm_source=rss&utm_medium=feed#top", "http://example.com/a/b"),
    ("https://example.com:443/x?b=2&a=1&fbclid=zz&gclid=1", "https://example.com/x?a=1&b=2"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com:8443//p//q", "https://example.com:8443/p/q"),
    (
        "https://example.com/p?mc_cid=1&mc_eid=2&igshid=3&_ga=4&yclid=5&msclkid=6",
        "https://example.com/p",
    ),
    ("https://example.com/p?ref=tw&ref_src=twsrc&id=7", "https://example.com/p?id=7"),
    ("https://example.com/news/index.html", "https://example.com/news"),
    ("https://example.com/news/index.php", "https://example.com/news"),
    ("https://example.com/news/default.aspx", "https://example.com/news"),
    ("https://example.com/index.html", "https://example.com/"),
    ("https://example.com/story/amp", "https://example.com/story"),
    ("https://example.com/story/amp/", "https://example.com/story"),
    ("https://example.com/amp/story/1", "https://example.com/story/1"),
    ("https://example.com/story.amp.html", "https://example.com/story.html"),
    ("https://example.com/story?amp", "https://example.com/story"),
    ("https://example.com/story?amp=1&x=2", "https://example.com/story?x=2"),
    ("https://example.com/story?outputType=amp", "https://example.com/story"),
    ("https://amp.example.com/story", "https://example.com/story"),
    ("https://m.example.com/story", "https://example.com/story"),
    ("https://mobile.example.co.uk/story", "https://example.co.uk/story"),
    ("https://m.co.uk/story", "https://m.co.uk/story"),
    ("https://www.example.com/story", "https://www.example.com/story"),
    ("https://example.com/ample", "https://example.com/ample"),
    ("https://example.com/p?outputType=json", "https://example.com/p?outputType=json"),
]


def _courlan_canonical(url: str) -> object:
    return _lib("courlan").clean_url(url)


def _w3lib_canonical(url: str) -> object:
    return _lib("w3lib.url").canonicalize_url(url)


def _courlan_rel(url: str, rel: str) -> object:
    """canonical_url(url, rel) built from courlan's parts: its normaliser, and is_external
    (its registrable-domain test) for "same site"."""
    courlan = _lib("courlan")
    clean_url, is_external = courlan.clean_url, courlan.is_external
    own = clean_url(url)
    target = urljoin(url, rel.strip()) if rel.strip() else ""
    if (
        target
        and urlsplit(target).scheme in ("http", "https")
        and not is_external(target, url, ignore_suffix=False)
    ):
        return clean_url(target)
    return own


def _courlan_domain(host: str) -> object:
    return _lib("courlan").extract_domain(f"http://{host}/")


def _same(canon: Callable[[str], object], a: str, b: str) -> Thunk:
    return lambda: canon(a) == canon(b)


def url_cases() -> list[Case]:
    test = "tests/unit/common/test_urls.py"
    cases = [
        Case(
            "urls",
            url,
            f"{test} test_canonical_url",
            expected,
            lambda url=url: canonical_url(url),  # type: ignore[misc]
            {
                "courlan": lambda url=url: _courlan_canonical(url),  # type: ignore[misc]
                "w3lib": lambda url=url: _w3lib_canonical(url),  # type: ignore[misc]
            },
        )
        for url, expected in CANONICAL
    ]
    page = "https://m.example.com/a/b?utm_source=x"
    rel_cases = [
        ("https://www.example.com/a/b/", "https://www.example.com/a/b"),
        ("/a/b?ref=1", "https://example.com/a/b"),
        ("https://other.example/a/b", "https://example.com/a/b"),
        ("javascript:alert(1)", "https://example.com/a/b"),
        ("  ", "https://example.com/a/b"),
    ]
    cases += [
        Case(
            "urls",
            f"rel=canonical {rel!r}",
            f"{test} test_rel_canonical_wins_on_the_same_site_only",
            expected,
            lambda rel=rel: canonical_url(page, rel),  # type: ignore[misc]
            {"courlan": lambda rel=rel: _courlan_rel(page, rel), "w3lib": None},  # type: ignore[misc]
        )
        for rel, expected in rel_cases
    ]
    domains = [
        ("news.bbc.co.uk", "bbc.co.uk", True, ""),
        ("www.example.com", "example.com", True, ""),
        ("EXAMPLE.com.", "example.com", True, ""),
        ("127.0.0.1", "127.0.0.1", True, ""),
        ("localhost", "localhost", True, ""),
    ]
    beyond = "beyond the tests (Public Suffix List)"
    domains += [
        (
            "alice.github.io",
            "alice.github.io",
            False,
            "a private suffix: our heuristic says github.io",
        ),
        (
            "a.blogspot.com",
            "a.blogspot.com",
            False,
            "a private suffix: our heuristic says blogspot.com",
        ),
        ("news.example.com.au", "example.com.au", True, ""),
    ]
    cases += [
        Case(
            "urls",
            f"registrable_domain {host}",
            f"{test} test_registrable_domain"
            if not why and host != "news.example.com.au"
            else beyond,
            expected,
            lambda host=host: registrable_domain(host),  # type: ignore[misc]
            {"courlan": lambda host=host: _courlan_domain(host), "w3lib": None},  # type: ignore[misc]
            matters=matters,
            why=why,
        )
        for host, expected, matters, why in domains
    ]
    same = f"{test} test_article_id_is_stable_across_variants"
    base = "https://news.example/post/1?utm_source=x"
    pairs = [
        ("https://NEWS.example/post/1/#comments", True),
        ("https://news.example/post/1/amp", True),
        ("https://m.news.example/post/1", True),
        ("https://news.example/post/2", False),
    ]
    libs: dict[str, Callable[[str], object]] = {
        "courlan": _courlan_canonical,
        "w3lib": _w3lib_canonical,
    }
    cases += [
        Case(
            "urls",
            f"same id: {other}",
            same,
            expected,
            _same(canonical_url, base, other),
            {name: _same(fn, base, other) for name, fn in libs.items()},
        )
        for other, expected in pairs
    ]
    extra = "beyond the tests (RFC 3986 6.2.2 normalisation)"
    normalisation = [
        ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9", "escape case"),
        ("https://example.com/%7Euser/a", "https://example.com/~user/a", "escaped unreserved"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c", "dot segments"),
    ]
    cases += [
        Case(
            "urls",
            f"{what}: {url}",
            extra,
            expected,
            lambda url=url: canonical_url(url),  # type: ignore[misc]
            {
                "courlan": lambda url=url: _courlan_canonical(url),  # type: ignore[misc]
                "w3lib": lambda url=url: _w3lib_canonical(url),  # type: ignore[misc]
            },
            matters=False,
            why="changing it changes the article id of URLs already stored",
        )
        for url, expected, what in normalisation
    ]
    return cases


# --- report ----------------------------------------------------------------------------

LIBRARIES = {"robots": ["protego"], "charset": ["w3lib"], "urls": ["courlan", "w3lib"]}
MODULES = {"protego": "protego", "w3lib": "w3lib.encoding", "courlan": "courlan"}


def installed_libraries() -> dict[str, bool]:
    return {name: _optional(module) is not None for name, module in MODULES.items()}


def all_cases() -> list[Case]:
    return robots_cases() + charset_cases() + url_cases()


def summarize(rows: list[Row]) -> dict[str, Any]:
    """Per component: cases, and passes for ours and each library, in all and among the
    cases that matter; plus the names of the cases that matter a library fails."""
    out: dict[str, Any] = {}
    for component, libraries in LIBRARIES.items():
        mine = [r for r in rows if r.component == component]
        matter = [r for r in mine if r.matters]
        entry: dict[str, Any] = {
            "cases": len(mine),
            "cases_that_matter": len(matter),
            "ours_pass": sum(r.ours_ok for r in mine),
            "ours_pass_that_matter": sum(r.ours_ok for r in matter),
        }
        for lib in libraries:
            compared = [r for r in mine if r.libraries_ok.get(lib) is not None]
            entry[lib] = {
                "compared": len(compared),
                "pass": sum(bool(r.libraries_ok[lib]) for r in compared),
                "pass_that_matter": sum(bool(r.libraries_ok[lib]) for r in compared if r.matters),
                "agree_with_ours": sum(r.libraries[lib] == r.ours for r in compared),
                "fails_that_matter": [
                    r.name for r in compared if r.matters and not r.libraries_ok[lib]
                ],
            }
        out[component] = entry
    return out


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("ok" if ok else "FAIL")


def markdown(rows: list[Row]) -> str:
    lines = []
    for component, libraries in LIBRARIES.items():
        lines.append(f"\n## {component}\n")
        head = ["case", "source", "expected", "ours", *libraries, "agree?"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for r in (r for r in rows if r.component == component):
            cells = [
                r.name + ("" if r.matters else " (does not matter)"),
                r.source,
                r.expected,
                f"{_mark(r.ours_ok)} {r.ours}",
                *(f"{_mark(r.libraries_ok[lib])} {r.libraries[lib]}" for lib in libraries),
                "yes"
                if all(
                    r.libraries[lib] == r.ours
                    for lib in libraries
                    if r.libraries_ok[lib] is not None
                )
                else "no",
            ]
            lines.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("\n", "\\n") for c in cells) + " |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/libcompare.json"))
    parser.add_argument("--table", type=Path, default=Path("results/libcompare.md"))
    parser.add_argument("--quiet", action="store_true", help="no table on stdout")
    args = parser.parse_args(argv)
    installed = installed_libraries()
    rows = [evaluate(case, installed) for case in all_cases()]
    summary = summarize(rows)
    table = markdown(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"installed": installed, "summary": summary, "rows": [r.as_dict() for r in rows]},
            indent=2,
        )
    )
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text(table)
    if not args.quiet:
        print(table)
    print(json.dumps({"installed": installed, **summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
