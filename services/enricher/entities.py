"""Group an article's name mentions into entities, each under one canonical name.

Within one article a later "Haniyeh" is the earlier "Ismail Haniyeh", "U.S." is
"the United States" and "UNSC" may be "United Nations Security Council"; the
fullest form found in the article is the canonical name.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from services.common.models import Entity, Mention
from services.enricher import gazetteer
from services.enricher.ner import RawMention

LEADING_ARTICLE = re.compile(r"^(?:the|The)\s+")
# A trailing possessive or stray punctuation (not a period: "U.S." keeps its own).
TRAILING = re.compile(r"(?:['’]s?|\s*[-–—,;:])$")
HONORIFIC = re.compile(r"^(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Dame|Lord|Lady)\.?\s+")
# Words left out of an organisation's initials ("United Nations Security Council" -> UNSC).
INITIALS_SKIP = frozenset({"of", "the", "and", "for", "on", "in", "&"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})


@dataclass(frozen=True)
class Named:
    """One mention, trimmed, with the key of the entity it belongs to."""

    text: str
    label: str
    start: int
    end: int


def trim(mention: RawMention) -> Named | None:
    """Drop a leading 'the', a trailing possessive and honorifics; None if nothing is left."""
    text, start = mention.text, mention.start
    for pattern in (LEADING_ARTICLE, HONORIFIC):
        m = pattern.match(text)
        if m:
            text, start = text[m.end() :], start + m.end()
    while True:
        m = TRAILING.search(text)
        if not m or m.start() == 0:
            break
        text = text[: m.start()]
    text = text.strip()
    if len(text) < 2 or not any(c.isalpha() for c in text):
        return None
    return Named(text, mention.label, start, start + len(text))


@lru_cache(maxsize=1)
def _demonyms() -> frozenset[str]:
    return frozenset(gazetteer.demonyms())


def _tokens(name: str) -> list[str]:
    return name.split()


def _initials(name: str) -> str:
    return "".join(w[0] for w in name.split() if w.lower() not in INITIALS_SKIP).upper()


def _person_canonical(mentions: Sequence[Named]) -> list[str]:
    """Canonical name of each mention, resolving a surname to the full name it stands for.

    A short form goes to the full name mentioned most recently before it (two
    Smiths in one article follow the last one named), or to the first one after
    it when the article uses the short form first.
    """
    full = [(m.start, m.text) for m in mentions if m.label == "PERSON" and len(_tokens(m.text)) > 1]
    out: list[str] = []
    for m in mentions:
        toks = _tokens(m.text)
        if m.label != "PERSON":
            out.append(m.text)
            continue
        candidates = [
            (start, name)
            for start, name in full
            if name != m.text
            and len(_tokens(name)) > len(toks)
            and (_tokens(name)[-len(toks) :] == toks or _tokens(name)[: len(toks)] == toks)
        ]
        if not candidates:
            out.append(m.text)
            continue
        before = [c for c in candidates if c[0] < m.start]
        out.append(max(before)[1] if before else min(candidates)[1])
    return out


def canonicalise(
    raw: Sequence[RawMention],
    country_code: Callable[[str], str | None],
    title: str | None = None,
) -> list[Entity]:
    """Entities in order of first mention; `country_code` merges spellings of one country."""
    mentions = [n for n in (trim(m) for m in raw) if n is not None]
    mentions.sort(key=lambda n: n.start)
    person_surnames = {
        tok for m in mentions if m.label == "PERSON" for tok in _tokens(m.text)[1:]
    } | {m.text for m in mentions if m.label == "PERSON"}
    # The small model tags a lone surname as ORG or GPE now and then: a name that is part
    # of a person named in this article (and no country) is that person.
    mentions = [
        Named(m.text, "PERSON", m.start, m.end)
        if m.label != "PERSON"
        and m.label != "NORP"
        and m.text in person_surnames
        and country_code(m.text) is None
        else m
        for m in mentions
    ]
    # The gazetteer settles the label of the names it lists: a demonym is a group even
    # where the model took it for a place ("Gazan") or an organisation ("Houthi"), and a
    # country is a GPE, not a LOC.
    groups = _demonyms()
    mentions = [
        Named(m.text, "NORP", m.start, m.end)
        if m.text in groups
        else Named(m.text, "GPE", m.start, m.end)
        if m.label == "LOC" and country_code(m.text)
        else m
        for m in mentions
    ]
    names = _person_canonical(mentions)
    # "Palestinians" is the group "Palestinian" names.
    singular = {m.text for m in mentions if m.label == "NORP"} | groups
    names = [
        n[:-1] if m.label == "NORP" and n.endswith("s") and n[:-1] in singular else n
        for m, n in zip(mentions, names, strict=True)
    ]

    org_long = {_initials(m.text): m.text for m in mentions if m.label == "ORG" and " " in m.text}
    countries: dict[str, str] = {}
    for m in mentions:
        code = country_code(m.text) if m.label in PLACE_LABELS else None
        if code and len(m.text) > len(countries.get(code, "")):
            countries[code] = m.text

    keyed: list[tuple[str, Named]] = []
    for m, name in zip(mentions, names, strict=True):
        if (
            m.label == "ORG"
            and m.text.replace(".", "").isupper()
            and m.text.replace(".", "") in org_long
        ):
            name = org_long[m.text.replace(".", "")]
        elif m.label in PLACE_LABELS:
            code = country_code(m.text)
            if code:
                name = countries[code]
        keyed.append((name, m))

    grouped: dict[str, list[Named]] = defaultdict(list)
    for name, m in keyed:
        grouped[name].append(m)
    entities = []
    for name, group in grouped.items():
        # The label most mentions agree on (the model may call one "Hamas" a person).
        label = Counter(m.label for m in group).most_common(1)[0][0]
        entities.append(
            Entity(
                text=name,
                label=label,
                count=len(group),
                mentions=[Mention(text=m.text, start=m.start, end=m.end) for m in group],
                in_title=bool(title) and _named_in(title or "", {name, *(m.text for m in group)}),
            )
        )
    entities.sort(key=lambda e: e.mentions[0].start)
    return entities


def _named_in(title: str, forms: set[str]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(f)}(?!\w)", title) for f in forms)


def offset(entities: list[Entity], by: int) -> list[Entity]:
    """Shift mention offsets by `by` characters (the body started after a dropped head)."""
    if not by:
        return entities
    return [
        e.model_copy(
            update={
                "mentions": [
                    Mention(text=m.text, start=m.start + by, end=m.end + by) for m in e.mentions
                ]
            }
        )
        for e in entities
    ]
