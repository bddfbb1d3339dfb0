from __future__ import annotations

from services.common.models import Enriched, Entity, Mention, Place
from services.enricher import places

MIN_POPULATION = 15_000


def entity(text: str, label: str = "GPE") -> Entity:
    return Entity(text=text, label=label, count=1, mentions=[Mention(text=text, start=0, end=1)])


def resolve(*names: str) -> dict[str, Place]:
    return {p.name: p for p in places.resolve([entity(n) for n in names], MIN_POPULATION)}


def test_seed_places(enriched_seed: Enriched) -> None:
    by_name = {p.name: p for p in enriched_seed.places}
    assert by_name["Egypt"].kind == "country" and by_name["Egypt"].country_code == "EG"
    assert by_name["Israel"].country_code == "IL"
    assert by_name["Yemen"].country_code == "YE"
    assert by_name["Cyprus"].country_code == "CY"
    assert by_name["United States"].country_code == "US"
    cairo = by_name["Cairo"]
    assert (cairo.kind, cairo.country_code) == ("city", "EG")
    assert abs((cairo.latitude or 0) - 30.06) < 0.1 and abs((cairo.longitude or 0) - 31.25) < 0.1
    assert by_name["Red Sea"].kind == "water" and by_name["Red Sea"].country_code is None
    assert by_name["Gaza"].country_code == "PS"


def test_aliases_and_countries() -> None:
    found = resolve("U.S.", "UK", "West Bank", "Gaza Strip", "Britain", "Russia", "Côte d'Ivoire")
    assert found["U.S."].country_code == "US"
    assert found["UK"].country_code == "GB" and found["Britain"].country_code == "GB"
    assert found["West Bank"].country_code == "PS" and found["West Bank"].latitude
    assert found["Gaza Strip"].country_code == "PS"
    assert found["Russia"].country_code == "RU"
    assert found["Côte d'Ivoire"].country_code == "CI"


def test_cities_prefer_the_most_populous_and_the_countries_named() -> None:
    assert resolve("Paris")["Paris"].country_code == "FR"
    assert resolve("Sao Paulo")["Sao Paulo"].country_code == "BR"  # accents folded
    # Beside Alabama (a US state), Birmingham is the one in Alabama, not the larger English one.
    near_alabama = resolve("Alabama", "Birmingham")
    assert near_alabama["Alabama"].kind == "region"
    assert near_alabama["Birmingham"].country_code == "US" and near_alabama["Birmingham"].geonameid
    assert resolve("Birmingham")["Birmingham"].country_code == "GB"
    # A far bigger namesake still wins: one US state named does not move Paris to Texas.
    assert resolve("Texas", "Paris")["Paris"].country_code == "FR"


def test_unknown_places_and_non_places_are_left_out() -> None:
    assert resolve("Atlantis Prime") == {}
    assert places.resolve([entity("Reuters", "ORG")], MIN_POPULATION) == []


def test_index_loads_once() -> None:
    first = places.index(MIN_POPULATION)
    assert places.index(MIN_POPULATION) is first
    assert first.load_seconds > 0 and len(first.cities) > 20_000


def test_georgia_is_the_state_or_the_country_by_the_other_places() -> None:
    # Georgia is a country (GE) and a US state: the article's other places decide.
    atlanta = resolve("Atlanta", "Georgia", "Savannah")
    assert (atlanta["Georgia"].kind, atlanta["Georgia"].country_code) == ("region", "US")
    assert atlanta["Atlanta"].country_code == atlanta["Savannah"].country_code == "US"
    tbilisi = resolve("Georgia", "Tbilisi", "Russia", "United States")
    assert (tbilisi["Georgia"].kind, tbilisi["Georgia"].country_code) == ("country", "GE")
    assert resolve("Georgia")["Georgia"].country_code == "GE"  # nothing else: the country
    # Mentions weigh: a story that names Atlanta three times and Mexico once is American.
    mostly_atlanta = [entity("Georgia"), entity("Atlanta"), entity("Mexico")]
    mostly_atlanta[1] = mostly_atlanta[1].model_copy(update={"count": 3})
    found = {p.name: p for p in places.resolve(mostly_atlanta, MIN_POPULATION)}
    assert found["Georgia"].country_code == "US" and found["Atlanta"].count == 3
