"""The hops that only need an article's keys pass its bytes on unparsed: the records
they write must still be what the models would have written, field for field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.common.errors import DecodeError
from services.common.models import (
    DedupAnswer,
    DedupSequenced,
    Enriched,
    Entity,
    Trace,
    decode,
    encode,
)
from services.dedup.clock import StreamClock
from services.dedup.config import DedupConfig
from services.dedup.pipeline import ask, route
from tests.conftest import validate_record
from tests.texts import story_text

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _enriched() -> Enriched:
    text = story_text("pipeline-records", 2)
    return Enriched(
        id="a1",
        url="https://news.example/a1?utm_source=x",
        title="Harbour council votes on the budget",
        text=text,
        paragraphs=[text],
        language="en",
        entities=[Entity(text="Helen Okafor", label="PERSON", count=2)],
        trace=Trace(fetched_at=FETCHED),
    )


def test_the_sequence_record_and_the_head_decode_as_the_models_wrote_them() -> None:
    article = _enriched()
    (sequenced,) = route(encode(article), DedupConfig())
    assert sequenced.value is not None
    validate_record(sequenced.topic, json.loads(sequenced.value))
    record = decode(DedupSequenced, sequenced.value)
    assert record.article == article
    assert json.loads(sequenced.value)["schema_version"] == record.schema_version

    outputs = ask(sequenced.value, 7, 4, StreamClock({}))
    head = outputs[-1]
    assert head.value is not None
    validate_record(head.topic, json.loads(head.value))
    got = decode(DedupAnswer, head.value)
    asked = sum(len(json.loads(o.value or b"{}")["lookups"]) for o in outputs[:-1])
    want = DedupAnswer(seq=7, kind="head", expect=asked, record=record, day=got.day)
    assert got == want
    assert got.day is not None and got.record is not None
    assert got.record.article == article


def test_a_sequence_record_without_valid_keys_is_refused_where_it_is_asked() -> None:
    with pytest.raises(DecodeError):
        ask(b'{"prep": {"id": "x"}, "article": {}}', 1, 4, StreamClock({}))
    with pytest.raises(DecodeError):
        ask(b'{"prep": ', 1, 4, StreamClock({}))
