from __future__ import annotations

from services.common.models import Article, Enriched
from services.common.settings import EnricherSettings
from services.enricher.pipeline import enrich
from services.enricher.quotes import Named, extract


def speaker_of(quotes: Enriched, start: str) -> str | None:
    matches = [q for q in quotes.quotes if q.text.startswith(start)]
    assert len(matches) == 1, [q.text for q in quotes.quotes]
    return matches[0].speaker


def test_seed_quotes_are_attributed(enriched_seed: Enriched) -> None:
    assert speaker_of(enriched_seed, "very serious") == "John Kirby"
    assert speaker_of(enriched_seed, "We're pushing") == "Joe Biden"  # "he asserted"
    # "Al-Nono stated": the canonical name, not the short form.
    assert speaker_of(enriched_seed, "Our conversations with our Egyptian") == "Taher Al-Nono"
    for q in enriched_seed.quotes:
        assert enriched_seed.text[q.start : q.end] == q.text


def people(text: str, *names: str) -> list[Named]:
    out = []
    for name in names:
        start = text.index(name)
        out.append(Named(start, start + len(name), name, "PERSON"))
    return out


def test_attribution_patterns_curly_and_straight() -> None:
    text = (
        "“The bridge is safe,” Maria Lopez said on Monday.\n"
        '"We will appeal the ruling," said Tom Reed, the lawyer.\n'
        "Ann Wu told reporters: “Nothing has been decided yet.”\n"
        '"Prices will rise again next year," according to Ben Ode.\n'
        '"Two words" is a title, not a quote, and "scare" quotes are skipped.\n'
        '"It was a long night," a police spokesman said.'
    )
    named = people(text, "Maria Lopez", "Tom Reed", "Ann Wu", "Ben Ode")
    found = {q.text: q.speaker for q in extract(text, named)}
    assert found["The bridge is safe"] == "Maria Lopez"
    assert found["We will appeal the ruling"] == "Tom Reed"
    assert found["Nothing has been decided yet."] == "Ann Wu"
    assert found["Prices will rise again next year"] == "Ben Ode"
    assert "Two words" not in found  # a title: two words, nothing said
    assert "scare" not in found
    assert found["It was a long night"] == "a police spokesman"


def test_pronoun_goes_to_the_last_person_named() -> None:
    text = (
        "Mayor Ed Kahn met the union. Later, Sue Park spoke to the press, "
        'and she said, "We are close to a deal."'
    )
    found = extract(text, people(text, "Ed Kahn", "Sue Park"))
    assert [(q.text, q.speaker) for q in found] == [("We are close to a deal.", "Sue Park")]


def test_a_quote_running_on_keeps_its_speaker() -> None:
    text = '"We are ready," Lee Chan said. "The team has trained for months."'
    found = extract(text, people(text, "Lee Chan"))
    assert [q.speaker for q in found] == ["Lee Chan", "Lee Chan"]


def test_speakers_are_canonical_entities() -> None:
    text = (
        "Finance minister Karin Holt presented the budget on Tuesday. "
        '"This budget protects jobs," Holt said.'
    )
    out = enrich(Article(id="q", url="", text=text, paragraphs=[text]), EnricherSettings())
    assert [(q.text, q.speaker) for q in out.quotes] == [
        ("This budget protects jobs", "Karin Holt")
    ]


def named(text: str, *names: tuple[str, str]) -> list[Named]:
    out = []
    for name, label in names:
        start = text.index(name)
        out.append(Named(start, start + len(name), name, label))
    return sorted(out, key=lambda n: n.start)


KIRBY = (
    '"We are making progress on the hostage deal," said White House national security '
    "spokesman John Kirby."
)
NAIM = (
    '"We will not accept any deal that does not end the war," said Hamas political bureau '
    "member Basem Naim."
)
SCARE = 'The so-called "peace plan" was rejected by Hamas, officials said.'


def test_the_speaker_after_the_verb_is_the_person_ending_the_clause() -> None:
    # The organisation before the name says whom the person speaks for.
    for text, org, person in ((KIRBY, "White House", "John Kirby"), (NAIM, "Hamas", "Basem Naim")):
        found = extract(text, named(text, (org, "ORG"), (person, "PERSON")))
        assert [q.speaker for q in found] == [person]
    # An initial's full stop does not end the clause; with no person, the organisation.
    text = '"We will talk again soon," said U.S. envoy Steve Witkoff.'
    assert extract(text, named(text, ("Steve Witkoff", "PERSON")))[0].speaker == "Steve Witkoff"
    text = '"The crossing stays closed until further notice," said a spokesman for Hamas.'
    assert extract(text, named(text, ("Hamas", "ORG")))[0].speaker == "Hamas"


def test_speakers_with_the_entity_model() -> None:
    for text, person in ((KIRBY, "John Kirby"), (NAIM, "Basem Naim")):
        out = enrich(Article(id="q", url="", text=text, paragraphs=[text]), EnricherSettings())
        # What en_core_web_sm finds decides the speaker: say so if it stops finding them.
        assert (person, "PERSON") in [(e.text, e.label) for e in out.entities], out.entities
        assert [q.speaker for q in out.quotes] == [person]


def test_scare_quotes_and_titles_are_not_quotations() -> None:
    assert extract(SCARE, named(SCARE, ("Hamas", "ORG"))) == []
    out = enrich(Article(id="q", url="", text=SCARE, paragraphs=[SCARE]), EnricherSettings())
    assert out.quotes == []
    text = 'Her novel "The Fall of the House of Ashes" won the prize, Ann Wu said.'
    assert extract(text, named(text, ("Ann Wu", "PERSON"))) == []
    # Short, but written as speech (its comma inside the marks): still a quotation.
    text = 'Ann Wu described the talks as "very serious," and left.'
    found = extract(text, named(text, ("Ann Wu", "PERSON")))
    assert [(q.text, q.speaker) for q in found] == [("very serious", "Ann Wu")]


def test_a_short_fragment_is_a_quote_when_the_sentence_calls_something_that() -> None:
    text = 'Foreign Minister Ana Lima called the proposal "a non-starter" on Monday.'
    [quote] = extract(text, named(text, ("Ana Lima", "PERSON")))
    assert quote.text == "a non-starter" and quote.speaker == "Ana Lima"
    text = 'Regulators described the findings as "deeply worrying" in a statement.'
    assert [q.text for q in extract(text, [])] == ["deeply worrying"]
    # The scare quote's own cue is not one.
    assert extract(SCARE, named(SCARE, ("Hamas", "ORG"))) == []
