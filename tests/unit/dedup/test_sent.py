"""The decider's "sent" note and the story records' sequence header (dedup/sent.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.dedup.sent import SEQ_HEADER, SentMark, sent_record, seq_header


@dataclass
class Meta:
    topic: str
    partition: int
    offset: int


def test_a_mark_round_trips_and_reads_the_old_plain_form() -> None:
    mark = SentMark(41, {0: 7, 3: 120})
    assert SentMark.decode(mark.encode()) == mark
    assert SentMark.decode("41") == SentMark(41, {})  # written before the ends were kept
    assert SentMark.decode(None) == SentMark(-1, {})


def test_advance_keeps_the_furthest_end_per_partition_of_the_stories_topic_only() -> None:
    mark = SentMark(5, {0: 10})
    mark.advance(
        9,
        [Meta("newswire.stories", 0, 11), Meta("newswire.stories", 2, 3), Meta("x", 1, 99)],
        "newswire.stories",
    )
    assert mark == SentMark(9, {0: 12, 2: 4})
    mark.advance(8, [Meta("newswire.stories", 0, 4)], "newswire.stories")  # late, older
    assert mark == SentMark(9, {0: 12, 2: 4})


def test_a_story_record_is_known_by_its_header_and_article_id() -> None:
    value = json.dumps({"article_id": "a1", "story_id": "s"}).encode()
    assert sent_record(list(seq_header(17)), value) == (17, "a1")
    assert sent_record([("other", b"1")], value) is None  # a record of someone else
    assert sent_record([(SEQ_HEADER, b"x")], value) is None
    assert sent_record([(SEQ_HEADER, b"3")], b"not json") is None
    assert sent_record([(SEQ_HEADER, b"3")], None) is None
