"""Direct quotations and who said them, from the patterns news writing uses.

    "...," Kirby said.        "...," said Kirby.        Kirby said, "..."
    "...," according to Kirby.        he asserted, "..." (he = the last person named)

Speakers come from the article's entities (so they carry canonical names); a
speaker no entity covers ("a spokesman said") is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.common.models import Entity, Quote

QUOTED = re.compile(r"“([^”\n]+)”|\"([^\"\n]+)\"|«\s?([^»\n]+?)\s?»|„([^“”\n]+)[“”]")
MIN_WORDS = 2
# Below this many words a quoted span is speech only when written as speech, with its
# punctuation inside the marks ('as "very serious,"', '"Absolutely not," she said');
# otherwise it is a scare quote or a name: 'the so-called "peace plan" was rejected'.
SHORT_QUOTE_WORDS = 4
SPEECH_END = (",", ".", "!", "?", "…")
# ...or when the words before it call something that: 'called the plan "a non-starter"',
# 'described it as "deeply worrying"'. "so-called" is the scare quote's own cue.
FRAGMENT_CUE = re.compile(
    r"(?<![\w-])(?:call(?:ed|s|ing)?|describ(?:ed|es|ing)|dubb(?:ed|ing)|term(?:ed|s|ing)"
    r"|brand(?:ed|s|ing)|label(?:l?ed|s|l?ing))\b[^.!?;:\"“”]{0,40}$",
    re.IGNORECASE,
)
# Words a title leaves lower-case: '"The Fall of the House"' is a title, not speech.
_TITLE_SMALL_WORDS = "a an and as at but by for from in into of on or the to with"
TITLE_SMALL_WORDS = frozenset(_TITLE_SMALL_WORDS.split())
# Speech verbs; forms that are mostly nouns in news ("remarks", "claims", "calls",
# "states") are left out, or "..., in remarks to the press" would name a speaker.
SPEECH_VERB = re.compile(
    r"\b(?:say|says|said|saying|tell|tells|told|stated|add|adds|added|assert|asserts|"
    r"asserted|characteri[sz]ed|described|insist(?:s|ed)?|warn(?:s|ed)?|noted|"
    r"explain(?:s|ed)?|declared|claimed|argue[sd]?|wrote|writes|tweeted|posted|announced|"
    r"remarked|repl(?:y|ies|ied)|responded|acknowledged|admit(?:s|ted)|urged|vowed|"
    r"cautioned|emphasi[sz]ed|stressed|predicted|suggested|recalled|conceded|confirmed|"
    r"concluded|quipped|joked|ask(?:s|ed)|shouted|pledged|promised|maintained|contended|"
    r"observed|lamented|complained|boasted|testified|reiterated|affirmed|commented|"
    r"continued|called)\b"
)
ACCORDING_TO = re.compile(r"^\W*according to\s+", re.IGNORECASE)
PRONOUN = re.compile(r"\b(?:he|she|He|She)\b")
# A sentence ends at . ! or ? (a closing quote may follow) before a capital, except after
# an initial or abbreviation ("U.S. officials", "Mr. Biden").
SENTENCE_BREAK = re.compile(r"(?<![A-Z])(?<!\b(?:Mr|Ms|Dr|St))[.!?][\"”’]?\s+(?=[A-Z\"“])")
_NOT_A_SPEAKER = (
    "in on at during after before while with without to for from by as when where which "
    "that and but or so then also it this there"
)
NOT_A_SPEAKER = frozenset(_NOT_A_SPEAKER.split())
AFTER_CHARS = 120
BEFORE_CHARS = 300
SPEAKER_GAP_CHARS = 60
# '..., said <speaker>': how far past the verb the speaker's clause may run; long enough
# for 'White House national security spokesman John Kirby'.
AFTER_VERB_CHARS = 80
# Where that clause ends: a comma, a dash, or a full stop that is not an initial or an
# abbreviation ("said U.S. envoy Steve Witkoff", "said Mr. Biden").
CLAUSE_END = re.compile(r"[,;:()—–]|(?<![A-Z])(?<!\b(?:Mr|Ms|Dr|St))[.!?](?=\s|$)")
MAX_NOMINAL_WORDS = 6


@dataclass(frozen=True)
class Named:
    start: int
    end: int
    name: str
    label: str


def speakers_from(entities: Sequence[Entity], offset: int = 0) -> list[Named]:
    """Mentions that can speak (people, organisations) with canonical names, in text order."""
    out = [
        Named(m.start - offset, m.end - offset, e.text, e.label)
        for e in entities
        if e.label in ("PERSON", "ORG")
        for m in e.mentions
    ]
    return sorted(out, key=lambda n: n.start)


def is_quotation(raw: str, before: str = "") -> bool:
    """Whether a quoted span (as written, punctuation inside the marks kept) is speech;
    `before`: the text of its sentence up to the opening mark."""
    words = raw.split()
    if len(words) < MIN_WORDS:
        return False
    if raw.rstrip().endswith(SPEECH_END):
        return True
    if len(words) < SHORT_QUOTE_WORDS:
        return FRAGMENT_CUE.search(before) is not None
    # Every word capitalised and nothing that ends a sentence: a title or a name.
    lettered = [w for w in words if w[0].isalpha()]
    return not all(w[0].isupper() or w in TITLE_SMALL_WORDS for w in lettered)


def _speaker_of(candidates: Sequence[Named]) -> str | None:
    """The person among the names of an attribution, else the organisation.

    'White House national security spokesman John Kirby', 'Hamas political bureau
    member Basem Naim': the organisation describes the person who spoke.
    """
    people = [n for n in candidates if n.label == "PERSON"]
    chosen = people or list(candidates)
    return chosen[-1].name if chosen else None


def _person_before(named: Sequence[Named], pos: int) -> str | None:
    people = [n for n in named if n.label == "PERSON" and n.end <= pos]
    return people[-1].name if people else None


def _nominal(phrase: str) -> str | None:
    """A short speaker phrase written out ('a senior official'), or None for anything else."""
    phrase = phrase.strip(" ,;:—–-")
    words = phrase.split()
    if not words or len(words) > MAX_NOMINAL_WORDS or not re.match(r"^[\w’'\- .]+$", phrase):
        return None
    # "..., in remarks to the press" or "..., during a visit": circumstances, not a speaker.
    if words[0].lower() in NOT_A_SPEAKER:
        return None
    return phrase


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Start of the sentence holding text[start], end of the one holding text[end]."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    lo = max(line_start, start - BEFORE_CHARS)
    for m in SENTENCE_BREAK.finditer(text, lo, start):
        lo = m.end()
    hi = min(line_end, end + AFTER_CHARS)
    brk = SENTENCE_BREAK.search(text, end, hi)
    return lo, (brk.start() + 1 if brk else hi)


def _speaker_after(text: str, q_end: int, s_end: int, named: Sequence[Named]) -> str | None:
    """Attribution after the quote: ', Kirby said', ', said Kirby', ', according to Kirby'."""
    tail = text[q_end:s_end]
    acc = ACCORDING_TO.match(tail)
    if acc:
        at = q_end + acc.end()
        for n in named:
            if at <= n.start <= at + 10:
                return n.name
        return _nominal(re.split(r"[,.;]", text[at:s_end])[0])
    verb = SPEECH_VERB.search(tail, 0, SPEAKER_GAP_CHARS)
    if not verb:
        return None
    v_start, v_end = q_end + verb.start(), q_end + verb.end()
    subject = _speaker_of([n for n in named if q_end <= n.start and n.end <= v_start])
    if subject:
        return subject
    gap = text[q_end:v_start]
    if PRONOUN.search(gap):
        return _person_before(named, q_end)
    if gap.strip(" ,;:—–-"):
        return _nominal(gap)
    # '..., said Kirby': the speaker follows the verb, and the clause ends with them
    # ('said Tom Reed, the lawyer'; 'said White House spokesman John Kirby.').
    limit = min(s_end, v_end + AFTER_VERB_CHARS)
    brk = CLAUSE_END.search(text, v_end, limit)
    c_end = brk.start() if brk else limit
    clause = text[v_end:c_end]
    after = _speaker_of([n for n in named if v_end <= n.start and n.end <= c_end])
    return after or _nominal(clause)


def _speaker_before(text: str, s_start: int, q_start: int, named: Sequence[Named]) -> str | None:
    """Attribution before the quote: 'Kirby said, "..."', 'he asserted, "..."'."""
    verbs = list(SPEECH_VERB.finditer(text, s_start, q_start))
    if not verbs:
        return None
    v_start = verbs[-1].start()
    candidates: list[tuple[int, str | None]] = [
        (n.end, n.name) for n in named if s_start <= n.start and n.end <= v_start
    ]
    for p in PRONOUN.finditer(text, s_start, v_start):
        candidates.append((p.end(), _person_before(named, p.start())))
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[0])[1]


def _known_as(speaker: str, named: Sequence[Named], pos: int) -> str:
    """A written-out speaker that is the surname of someone named earlier is that person.

    The model misses some short forms ("Holt said") that it found in full before.
    """
    words = speaker.split()
    if not words or not speaker[0].isupper():
        return speaker
    for n in reversed([n for n in named if n.end <= pos]):
        full = n.name.split()
        if len(full) > len(words) and full[-len(words) :] == words:
            return n.name
    return speaker


def extract(text: str, named: Sequence[Named]) -> list[Quote]:
    """Quotations (not scare quotes or titles), with speakers where the sentence names one."""
    quotes: list[Quote] = []
    last_line = -1
    last_speaker: str | None = None
    for m in QUOTED.finditer(text):
        group = next(g for g in range(1, 5) if m.group(g) is not None)
        raw, q_start = m.group(group), m.start(group)
        s_start, s_end = _sentence_bounds(text, m.start(), m.end())
        if not is_quotation(raw, text[s_start : m.start()]):
            continue
        inner = raw.rstrip(" ,")
        speaker = _speaker_after(text, m.end(), s_end, named) or _speaker_before(
            text, s_start, m.start(), named
        )
        if speaker is not None:
            speaker = _known_as(speaker, named, m.start())
        line = text.count("\n", 0, m.start())
        # A quotation that runs on in the same paragraph keeps its speaker.
        if speaker is None and line == last_line:
            speaker = last_speaker
        quotes.append(Quote(text=inner, speaker=speaker, start=q_start, end=q_start + len(inner)))
        last_line, last_speaker = line, speaker
    return quotes
