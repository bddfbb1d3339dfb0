"""Story scopes: each decision sequence decides its own articles, apart from the others."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.common.errors import ConfigError
from services.common.models import DedupAnswer, DedupQuestion, Enriched, Trace, decode, encode
from services.common.settings import Settings
from services.common.topics import DEDUP_ANSWERS, DEDUP_LOOKUPS, DEDUP_SEQUENCE, partition_for
from services.dedup.clock import StreamClock
from services.dedup.config import DedupConfig, config_from
from services.dedup.engine import DedupStores, lookups_of
from services.dedup.offline import cluster_lines
from services.dedup.pipeline import answer, ask, route
from services.dedup.scope import lookup_key, scope_name, sequence_of, store_of, store_prefix
from services.dedup.sent import SEQ_HEADER, sent_record, seq_header
from tests.texts import story_text

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TWO = DedupConfig(scope="language", sequences=2, scope_map=(("de", 1), ("en", 0)))


def settings(**env: object) -> Settings:
    return Settings.model_validate(env)


def test_scope_names_under_each_setting() -> None:
    assert scope_name("none", language="en") == ""
    assert scope_name("language", language="DE") == "de"
    assert scope_name("language") == "-"  # language unknown: a scope of its own
    assert scope_name("site", url="https://www.Example.org/a") == "example.org"
    assert scope_name("site", site="news.example", url="https://other.example/") == "news.example"
    assert scope_name("feed", feed_url="https://f.example/rss") == "https://f.example/rss"
    with pytest.raises(ValueError, match="unknown dedup scope"):
        scope_name("desk")


def test_a_scope_goes_to_its_mapped_sequence_else_to_a_fixed_hash() -> None:
    assert sequence_of("en", 1) == 0
    assert sequence_of("de", 4, {"de": 3}) == 3
    hashed = {name: sequence_of(name, 4) for name in ("en", "fr", "es", "it", "nl", "pt")}
    assert hashed == {name: partition_for(name, 4) for name in hashed}
    assert len(set(hashed.values())) > 1  # the hash spreads scopes, it does not pile them up


def test_sequence_zero_keeps_the_single_sequence_layout() -> None:
    # A deployment going from one sequence to several keeps sequence 0's state as it was.
    assert lookup_key(0, "abc") == "abc" and store_prefix(0, "outcomes") == "outcomes:"
    assert lookup_key(2, "abc") == "2~abc" and store_prefix(2, "outcomes") == "2/outcomes:"
    assert store_of("2/outcomes:17") == "outcomes" and store_of("terms:x") == "terms"


def test_a_scope_map_outside_the_sequences_is_refused() -> None:
    with pytest.raises(ConfigError, match="NEWSWIRE_DEDUP_SCOPE_MAP"):
        config_from(settings(dedup_sequences=2, dedup_scope_map={"en": 2}))
    config = config_from(
        settings(dedup_sequences=2, dedup_scope="language", dedup_scope_map={"en": 1})
    )
    assert config.sequence_of("en") == 1 and config.sequences == 2


def test_the_topics_take_their_partition_count_from_the_setting() -> None:
    assert DEDUP_SEQUENCE.partition_count(settings()) == 1
    assert DEDUP_ANSWERS.partition_count(settings(dedup_sequences=3)) == 3
    assert DEDUP_LOOKUPS.partition_count(settings(topic_partitions=5)) == 5


def article(aid: str, text: str, language: str) -> Enriched:
    return Enriched(
        id=aid,
        url=f"https://{language}.news.example/{aid}",
        text=text,
        paragraphs=[text],
        language=language,
        trace=Trace(fetched_at=FETCHED),
    )


def test_route_asks_and_answers_stay_in_the_articles_sequence() -> None:
    text = story_text("scope", 1)
    (en,) = route(encode(article("e1", text, "en")), TWO)
    (de,) = route(encode(article("d1", text, "de")), TWO)
    assert (en.topic, en.partition, de.partition) == (DEDUP_SEQUENCE.name, 0, 1)
    (one,) = route(encode(article("d1", text, "de")), DedupConfig())
    assert one.partition == 0

    outputs = ask(de.value, 5, 4, StreamClock({}), sequence=1)
    *questions, head = outputs
    assert (head.topic, head.partition) == (DEDUP_ANSWERS.name, 1)
    for out in questions:
        q = decode(DedupQuestion, out.value)
        assert q.sequence == 1
        assert {partition_for(lookup_key(1, lk.key), 4) for lk in q.lookups} == {out.partition}

    # The same keys asked by both sequences: each finds only its own earlier articles.
    lookups = lookups_of(DedupStores(), DedupConfig())
    first = ask(en.value, 0, 4, StreamClock({}), sequence=0)[:-1]
    for out in first:
        answer(out.value, lookups)
    replies = [answer(out.value, lookups) for out in questions]
    for (reply,) in replies:
        assert (reply.topic, reply.partition) == (DEDUP_ANSWERS.name, 1)
        got = decode(DedupAnswer, reply.value)
        assert all(not lk.found for lk in got.lookups), got.lookups  # sequence 0's unseen
        assert not any("~" in lk.key for lk in got.lookups)  # answered under its own keys
    again = ask(de.value, 9, 4, StreamClock({}), sequence=1)[:-1]
    found = [
        lk.found
        for out in again
        for lk in decode(DedupAnswer, answer(out.value, lookups)[0].value).lookups
    ]
    assert [5] in found  # within sequence 1, the earlier article is found


def test_story_records_say_their_sequence() -> None:
    value = json.dumps({"article_id": "a1"}).encode()
    assert sent_record(list(seq_header(17)), value) == (17, "a1")
    assert sent_record(list(seq_header(17, 2)), value, 2) == (17, "a1")
    assert sent_record(list(seq_header(17, 2)), value) is None  # another sequence's
    assert sent_record([(SEQ_HEADER, b"17")], value, 1) is None
    assert seq_header(17) == ((SEQ_HEADER, b"17"),)  # sequence 0 as before


def lines(rows: list[tuple[str, str, str]]) -> list[str]:
    return [json.dumps({"id": i, "text": t, "language": lang}) for i, t, lang in rows]


def test_split_scopes_lose_cross_scope_copies_and_decide_each_scope_alone() -> None:
    en, de = story_text("scope-en", 2), story_text("scope-de", 3)
    rows = [
        ("en-1", en, "en"),
        ("de-1", de, "de"),
        ("de-copy-of-en", en, "de"),  # a copy in the other scope
        ("en-copy", en, "en"),
        ("de-copy", de, "de"),
    ]
    one = {r["id"]: r for r in cluster_lines(lines(rows), DedupConfig())}
    two = {r["id"]: r for r in cluster_lines(lines(rows), TWO)}
    assert (one["de-copy-of-en"]["verdict"], one["de-copy-of-en"]["duplicate_of"]) == (
        "duplicate",
        "en-1",
    )
    # What splitting costs: the copy in the other scope is not found there.
    assert two["de-copy-of-en"]["verdict"] == "new"
    assert (two["en-copy"]["duplicate_of"], two["de-copy"]["duplicate_of"]) == ("en-1", "de-1")
    # Each sequence decides as if it were alone: the same as its articles on their own.
    for language in ("en", "de"):
        alone = list(cluster_lines(lines([r for r in rows if r[2] == language]), DedupConfig()))
        assert [two[r["id"]] for r in alone] == alone
