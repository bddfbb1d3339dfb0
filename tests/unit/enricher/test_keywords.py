from __future__ import annotations

import pytest

from services.common.models import Article, Enriched
from services.common.settings import EnricherSettings, Settings
from services.enricher.keywords import banned_from, extract, is_banned
from services.enricher.pipeline import enrich


def test_seed_keywords(enriched_seed: Enriched) -> None:
    words = [k.text for k in enriched_seed.keywords]
    assert len(words) == Settings().enricher.keywords_top
    assert {"Hamas", "Gaza", "Israel"} <= set(words)
    scores = [k.score for k in enriched_seed.keywords]
    assert scores == sorted(scores)  # best (lowest) first


def test_byline_is_not_a_keyword(seed_article: Article) -> None:
    # A record whose body still opens with its headline and byline, and names its
    # author in the sign-off: none of it may come out as a keyword.
    assert seed_article.byline
    text = f"{seed_article.title}\n{seed_article.byline}\n\n{seed_article.text}"
    text += f"\n\n{seed_article.byline} contributed reporting. {seed_article.byline}."
    record = seed_article.model_copy(update={"text": text})
    out = enrich(record, EnricherSettings())
    folded = [k.text.casefold() for k in out.keywords]
    assert out.keywords
    # Words, not substrings: "war" may be a keyword of a war story on "News of War".
    assert not any("staff writer" in k or "news of war" in k for k in folded), folded


def test_other_languages_and_empty_text() -> None:
    text = (
        "Die Regierung in Berlin plant neue Regeln für Mietwohnungen. Die Mietpreisbremse "
        "soll verlängert werden, sagte die Bauministerin. Mieterverbände begrüßten die Pläne "
        "für Mietwohnungen, Vermieter kritisierten die Mietpreisbremse."
    )
    found = [k.text for k in extract(text, "de", top=5, max_words=2)]
    assert "Mietpreisbremse" in found or "Mietwohnungen" in found
    assert extract("   ", "en", top=5, max_words=2) == []


JAPAN = (
    "Japan and the Philippines agreed on Tuesday to expand trade and defence cooperation, "
    "officials in Tokyo and Manila said. The agreement covers shipbuilding, maritime patrols "
    "and semiconductor supply chains. Japanese Prime Minister Fumio Kishida said the deal "
    "would deepen ties between Japan and the Philippines. The Philippine government welcomed "
    "the Japanese investment in its shipyards and ports. Trade between Japan and the "
    "Philippines reached a record last year."
)
TARIFFS = (
    "The Trump administration announced new tariffs on steel imports on Monday. Officials in "
    "the Trump administration said the tariffs would protect American jobs."
)
SUDAN = (
    "The war in Sudan entered its second year on Monday. Aid agencies said the war had driven "
    "millions from their homes. News of the fighting reached refugee camps in Chad, where "
    "families waited for news of relatives. The war has left half the country hungry, the "
    "United Nations said.\n\nJane Doe contributed reporting from Geneva. Doe is the paper's "
    "Africa correspondent."
)


@pytest.mark.parametrize(
    ("text", "exclude", "kept", "dropped"),
    [
        # A byline's words are compared whole: "AP" is not in "Japan", "admin" not in
        # "administration", and "Tokyo bureau chief" is a role, not a name.
        (JAPAN, ("AP",), {"Japan"}, set()),
        (
            JAPAN,
            ("Fumio Kishida, Tokyo bureau chief", "Fumio Kishida", "Tokyo bureau chief"),
            {"Tokyo", "Japan"},
            {"Fumio Kishida"},
        ),
        (TARIFFS, ("admin",), {"Trump administration"}, set()),
        # The seed's site: "News of War" is a name, but "war" alone is the story.
        (SUDAN, ("News of War Staff Writer",), {"war"}, set()),
        (SUDAN, ("By Jane Doe, News of War", "Jane Doe", "News of War"), {"war"}, {"Doe"}),
    ],
)
def test_the_byline_bans_names_not_substrings(
    text: str, exclude: tuple[str, ...], kept: set[str], dropped: set[str]
) -> None:
    unfiltered = {k.text for k in extract(text, "en", top=12, max_words=2)}
    assert kept | dropped <= unfiltered  # each case is about a keyword YAKE does find
    found = {k.text for k in extract(text, "en", top=12, max_words=2, exclude=exclude)}
    assert kept <= found
    assert not dropped & found


def test_what_a_byline_bans() -> None:
    doe = banned_from(["By Jane Doe and John Roe, Reuters"])
    assert all(is_banned(k, doe) for k in ("Jane Doe", "Doe", "John Roe", "Reuters"))
    assert is_banned("Jane Doe contributed", doe)  # a glued phrase holding the name
    assert not is_banned("Doe said", doe)  # the surname alone only when it is all there is
    site = banned_from(["News of War Staff Writer"])
    assert all(is_banned(k, site) for k in ("News of War", "Staff Writer", "War Staff"))
    assert not any(is_banned(k, site) for k in ("war", "news", "staff", "war crimes"))
    kishida = banned_from(["Fumio Kishida, Tokyo bureau chief", "Tokyo bureau chief"])
    assert is_banned("Kishida", kishida) and not is_banned("Tokyo", kishida)
    assert not is_banned("Japan", banned_from(["AP"]))
    assert not is_banned("Trump administration", banned_from(["admin"]))
