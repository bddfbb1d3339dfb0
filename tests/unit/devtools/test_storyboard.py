"""What `newswire run` prints: a line per story record, then the stories grouped."""

from __future__ import annotations

import io
from typing import Any

from services.devtools.storyboard import StoryBoard, outlet_of


def record(
    aid: str,
    story: str,
    verdict: str = "new",
    *,
    site: str | None = "Meridian Daily",
    title: str = "A headline",
    match: str = "none",
    duplicate_of: str | None = None,
    version: int = 1,
    size_change: int = 0,
) -> dict[str, Any]:
    return {
        "article_id": aid,
        "story_id": story,
        "verdict": verdict,
        "match": match,
        "duplicate_of": duplicate_of,
        "version": version,
        "size_change": size_change,
        "article": {"site": site, "title": title, "url": f"http://127.0.0.1:8000/{aid}"},
    }


def test_each_record_gets_a_line_naming_its_story_and_what_it_is() -> None:
    board = StoryBoard()
    first = board.add(record("a", "a", title="Crane falls", site="The Harbour Ledger"))
    assert first is not None and first.startswith("new") and "story 1 " in first
    assert "The Harbour Ledger" in first and "Crane falls" in first
    joined = board.add(record("b", "a", title="Crane collapse"))
    assert joined is not None and "story 1 " in joined
    assert "joins story 1: 2 articles, 2 outlets" in joined
    copy = board.add(
        record("c", "a", "duplicate", site="Valley Dispatch", match="hash", duplicate_of="a")
    )
    assert copy is not None and copy.startswith("duplicate (same text)")
    assert "copy of The Harbour Ledger's" in copy
    other = board.add(record("d", "d", title="Rates held"))
    assert other is not None and "story 2 " in other
    update = board.add(record("d", "d", "update", match="url", version=2, size_change=120))
    assert update is not None and update.startswith("update v2") and "(+120 characters)" in update


def test_a_record_read_twice_and_other_topics_records_print_nothing() -> None:
    board = StoryBoard()
    assert board.add(record("a", "a")) is not None
    assert board.add(record("a", "a")) is None
    assert board.add({"not": "a story"}) is None and board.add("text") is None
    assert sum(board.verdicts.values()) == 1


def test_render_groups_articles_under_their_story_multi_article_stories_first() -> None:
    board = StoryBoard()
    board.add(record("s", "s", title="Library opens on Sundays", site="Northfield Courier"))
    board.add(record("a", "a", title="Crane falls", site="The Harbour Ledger"))
    board.add(record("b", "a", site="Meridian Daily"))
    board.add(record("c", "a", "duplicate", site="Valley Dispatch", match="near"))
    board.add(record("f", "f", title="Fire at plant", site="Valley Dispatch"))
    board.add(record("f", "f", "update", site="Valley Dispatch", version=2))
    assert board.changed
    lines = board.render()
    assert not board.changed
    assert lines[0] == "== 3 stories from 6 story records (duplicate 1, new 4, update 1) =="
    assert lines[1].startswith("story 2   3 articles") and lines[1].endswith("Crane falls")
    grouped = "The Harbour Ledger new · Meridian Daily new · Valley Dispatch duplicate (near copy)"
    assert lines[2].strip() == grouped
    assert lines[3].startswith("story 3   1 article, 2 versions")
    assert "Valley Dispatch new · Valley Dispatch update v2" in lines[4]
    assert lines[5].startswith("story 1   1 article") and lines[5].endswith(
        "Library opens on Sundays  (Northfield Courier, new)"
    )
    assert len(lines) == 6


def test_outlet_falls_back_to_the_host_when_a_page_names_no_site() -> None:
    assert outlet_of({"site": " Meridian Daily "}) == "Meridian Daily"
    assert outlet_of({"site": None, "url": "http://127.0.0.1:8000/x.txt"}) == "127.0.0.1:8000"
    assert outlet_of({}) == "?"


def test_long_titles_are_cut_to_the_line() -> None:
    board = StoryBoard()
    line = board.add(record("a", "a", title="word " * 40))
    assert line is not None and line.rstrip().endswith("…") and len(line) < 140
    out = io.StringIO()
    out.write("\n".join(board.render()))
    assert "…" in out.getvalue()
