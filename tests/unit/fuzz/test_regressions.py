"""Every input `make fuzz` found to crash a target, replayed: each must now be handled
(a result, or a NewswireError the stage dead-letters), never another exception.

Inputs are the exact bytes the target took, under cases/<target>/ (saved by the runner
in results/fuzz-crashes/<target>/), or small literals here. Inputs that still crash code
owned elsewhere wait in open/ until their fix lands; then they move to cases/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.errors import NewswireError
from services.devtools.fuzztargets import TARGETS

CASES = Path(__file__).parent / "cases"
SAVED = sorted(CASES.glob("*/*.bin"))


def _handled(target: str, data: bytes) -> str:
    """'ok' or the NewswireError's name; any other exception fails the test."""
    try:
        TARGETS[target].run(data)
    except NewswireError as exc:
        return type(exc).__name__
    return "ok"


def test_the_saved_cases_are_there() -> None:
    # A glob that found nothing would make the parametrised test below vanish quietly.
    assert {p.parent.name for p in SAVED} >= {"extraction", "cleaner-record"}


@pytest.mark.parametrize("path", SAVED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_saved_crash_is_handled(path: Path) -> None:
    assert _handled(path.parent.name, path.read_bytes()) in {"ok", *_newswire_errors()}


def _newswire_errors() -> set[str]:
    import services.common.errors as errors

    return {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, NewswireError)
    }


def test_control_characters_in_a_page_do_not_break_markdown() -> None:
    # ValueError from trafilatura's Markdown pass: libxml2 kept \x01 in the text and
    # lxml refused to write it back ("All strings must be XML compatible").
    page = (
        b'<div itemprop="author"><span isemprop="name>yB"/<span><span '
        b'itemprop="name">NOVEMBER 2 0,2019 10:43<<html><body><article'
        b"><div class='e/spntry-contanent><'>/div>e>yB\"/<-\x01\x00\x00\x00\x00\x00\x00span>"
        b'<span itemprop="nam'
    )
    assert page[-1] % 6 == 1  # the last byte picks text/html with Markdown on
    assert _handled("extraction", page) in {"ok", "NoContentError"}


@pytest.mark.parametrize("final_url", ["http://[::1", "http://example.com:le/a", "http://[bad/x"])
def test_a_page_record_with_a_bad_final_url_still_cleans(final_url: str) -> None:
    # host_of/urljoin raised ValueError (Invalid IPv6 URL, a port that is no number).
    import json

    record = {
        "article_id": "p",
        "url": "http://example.com/a",
        "final_url": final_url,
        "status": 200,
        "content_type": "text/plain",
        "body": "Storm closes harbour\n\nFerries to Malta were cancelled on Sunday, the "
        "port authority in Catania said, as waves of six metres hit the coast.",
        "body_bytes": 10,
        "entry": {"entry_id": "e", "feed_url": "http://f.example/", "link": "http://e.example/"},
    }
    assert _handled("cleaner-record", json.dumps(record).encode()) == "ok"


def test_a_canonical_hint_that_is_no_url_costs_only_the_field() -> None:
    from services.cleaner.extract import Extracted
    from services.cleaner.pipeline import article_from
    from services.common.models import Entry, Page

    entry = Entry(entry_id="e", feed_url="http://f.example/", link="http://e.example/a")
    page = Page.direct("p", entry, "x", "text/html")
    ext = Extracted(
        title=None,
        byline=None,
        paragraphs=["Body."],
        canonical_url="http://[oops",
        top_image="http://[x",
    )
    article = article_from(page, ext)
    assert (article.canonical_url, article.top_image, article.text) == (None, None, "Body.")
