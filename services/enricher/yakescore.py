"""YAKE's keyword scoring (as the yake 0.7 package computes it), without its overheads.

The package spends most of an article's ~38 ms outside the algorithm: a networkx
graph for word co-occurrences, a numpy median and a dict-backed object per word,
an object per n-gram occurrence. This module computes the same statistics with
plain dicts and lists: the same tokens (segtok, as the package splits them), the
same stopword lists (read from the package's data), the same features, the same
order of floating-point operations and the same deduplication, so it returns the
package's keywords and scores (the enricher's tests and `make bench-enricher`
compare the two on every article). Only what the enricher uses is kept: window 1
is the package's default, features all on, the `seqm` deduplication at 0.9.

Reference: Campos et al., "YAKE! Keyword extraction from single documents using
multiple local features", Information Sciences 509 (2020).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

PUNCTUATION = frozenset(string.punctuation)
DISCARDED_TAGS = frozenset("ud")
DEDUP_LIMIT = 0.9
_CAPITAL = re.compile(r"^(\s*([A-Z]))")


@lru_cache(maxsize=64)
def stopwords(language: str) -> frozenset[str]:
    """The yake package's stopword list for `language` (its noLang list when it has none)."""
    import yake

    folder = Path(yake.__file__).parent / "core" / "StopwordsList"
    path = folder / f"stopwords_{language[:2].lower()}.txt"
    if not path.exists():
        path = folder / "stopwords_noLang.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="ISO-8859-1")
    return frozenset(text.lower().split("\n"))


def _sentences(text: str) -> list[list[str]]:
    """Sentences of tokens, split as the package splits them (segtok)."""
    from segtok.segmenter import split_multi  # type: ignore[import-untyped]
    from segtok.tokenizer import split_contractions, web_tokenizer  # type: ignore[import-untyped]

    # The package's pre_filter, for a text that no longer has newlines.
    text = ("\n\n" if _CAPITAL.match(text) else " ") + text.replace("\t", " ")
    return [
        [w for w in split_contractions(web_tokenizer(s)) if w and not (w[0] == "'" and len(w) > 1)]
        for s in split_multi(text)
        if s.strip()
    ]


@lru_cache(maxsize=20_000)
def tag(word: str, first: bool) -> str:
    """d digit, u unusual (mixed or punctuation), a acronym, n name inside a sentence, p plain."""
    plain = word.replace(",", "")
    if plain.isdigit() or plain.replace(".", "", 1).isdigit():
        return "d"
    digits = alphas = punct = 0
    for c in word:
        if c.isdigit():
            digits += 1
        if c.isalpha():
            alphas += 1
        if c in PUNCTUATION:
            punct += 1
    if (digits and alphas) or (not digits and not alphas) or punct > 1:
        return "u"
    if word.isupper():
        return "a"
    if len(word) > 1 and word[0].isupper() and not first and sum(map(str.isupper, word)) == 1:
        return "n"
    return "p"


@dataclass(slots=True)
class _Term:
    stopword: bool
    tf: float = 0.0
    tf_a: float = 0.0
    tf_n: float = 0.0
    sentences: list[int] = field(default_factory=list)  # distinct, in order
    out: dict[int, float] = field(default_factory=dict)  # co-occurrence: next term -> count
    into: dict[int, float] = field(default_factory=dict)  # previous term -> count
    h: float = 0.0


@dataclass(slots=True)
class _Candidate:
    kw: str  # as first written
    terms: list[int]
    valid_tags: bool  # some occurrence has no digit or unusual token
    tf: float = 0.0
    h: float = 1.0


class _Document:
    def __init__(self, text: str, stop: frozenset[str], n: int) -> None:
        self.stop = stop
        self.terms: list[_Term] = []
        self.index: dict[str, int] = {}
        self.candidates: dict[str, _Candidate] = {}
        sentences = _sentences(text.replace("\n", " "))
        self.sentence_count = len(sentences)
        for sentence_id, sentence in enumerate(sentences):
            self._sentence(sentence, sentence_id, n)

    def _term(self, unique: str) -> int:
        simple_stop = unique in self.stop
        if unique.endswith("s") and len(unique) > 3:
            unique = unique[:-1]
        found = self.index.get(unique)
        if found is not None:
            return found
        bare = "".join(c for c in unique if c not in PUNCTUATION)
        is_stop = simple_stop or unique in self.stop or len(bare) < 3
        self.terms.append(_Term(is_stop))
        self.index[unique] = len(self.terms) - 1
        return len(self.terms) - 1

    def _sentence(self, words: list[str], sentence_id: int, n: int) -> None:
        # Since the last punctuation: (word, lower-cased, term, tag is digit/unusual).
        block: list[tuple[str, str, int, bool]] = []
        terms = self.terms
        for pos, word in enumerate(words):
            if PUNCTUATION.issuperset(word):
                block = []
                continue
            t = tag(word, pos == 0)
            discarded = t in DISCARDED_TAGS
            lower = word.lower()
            tid = self._term(lower)
            term = terms[tid]
            if not term.sentences or term.sentences[-1] != sentence_id:
                term.sentences.append(sentence_id)
            term.tf += 1.0
            if t == "a":
                term.tf_a += 1.0
            elif t == "n":
                term.tf_n += 1.0
            if block and not discarded and not block[-1][3]:
                left = terms[block[-1][2]]
                left.out[tid] = left.out.get(tid, 0.0) + 1.0
                term.into[block[-1][2]] = term.into.get(block[-1][2], 0.0) + 1.0
            # The word alone, then with the n-1 words before it, as n-grams.
            kw, key, ids, valid = word, lower, [tid], not discarded
            for i in range(len(block) - 1, max(0, len(block) - (n - 1)) - 1, -1):
                prev = block[i]
                self._add(kw, key, ids, valid)
                kw, key = prev[0] + " " + kw, prev[1] + " " + key
                ids, valid = [prev[2], *ids], valid and not prev[3]
            self._add(kw, key, ids, valid)
            block.append((word, lower, tid, discarded))

    def _add(self, kw: str, key: str, ids: list[int], valid: bool) -> None:
        cand = self.candidates.get(key)
        if cand is None:
            cand = _Candidate(kw, ids, valid)
            self.candidates[key] = cand
        elif valid:
            cand.valid_tags = True
        cand.tf += 1.0

    def score_terms(self) -> None:
        tfs = np.array([t.tf for t in self.terms if not t.stopword])
        if not tfs.size:
            return  # every word a stopword: the package leaves every score at 0
        # numpy for these two, as the package: the same sums to the last bit.
        avg_tf, std_tf = float(tfs.mean()), float(tfs.std())
        max_tf = max(t.tf for t in self.terms)
        sentences = self.sentence_count
        for t in self.terms:
            wdr, wir = len(t.out), sum(t.out.values())
            pwr = 0 if wir == 0 else wdr / wir
            wdl, wil = len(t.into), sum(t.into.values())
            pwl = 0 if wil == 0 else wdl / wil
            wrel = (0.5 + (pwl * (t.tf / max_tf))) + (0.5 + (pwr * (t.tf / max_tf)))
            wfreq = t.tf / (avg_tf + std_tf)
            wspread = len(t.sentences) / sentences
            wcase = max(t.tf_a, t.tf_n) / (1.0 + math.log(t.tf))
            wpos = math.log(math.log(3.0 + _median(t.sentences)))
            t.h = (wpos * wrel) / (wcase + (wfreq / wrel) + (wspread / wrel))

    def score_candidates(self) -> list[_Candidate]:
        terms = self.terms
        valid: list[_Candidate] = []
        for cand in self.candidates.values():
            if not cand.valid_tags or terms[cand.terms[0]].stopword:
                continue
            if terms[cand.terms[-1]].stopword:
                continue
            sum_h, prod_h = 0.0, 1.0
            last = len(cand.terms) - 1
            for i, tid in enumerate(cand.terms):
                term = terms[tid]
                if not term.stopword:
                    sum_h += term.h
                    prod_h *= term.h
                    continue
                # A stopword inside a phrase weighs by how surely its neighbours bring it.
                before = after = 0.0
                if i > 0:
                    prev = cand.terms[i - 1]
                    if tid in terms[prev].out:
                        before = terms[prev].out[tid] / terms[prev].tf
                if i < last:
                    nxt = cand.terms[i + 1]
                    if nxt in term.out:
                        after = term.out[nxt] / terms[nxt].tf
                prob = before * after
                prod_h *= 1 + (1 - prob)
                sum_h -= 1 - prob
            cand.h = prod_h / ((sum_h + 1) * cand.tf)
            valid.append(cand)
        valid.sort(key=lambda c: c.h)
        return valid


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


@lru_cache(maxsize=50_000)
def similarity(s1: str, s2: str) -> float:
    """The package's `seqm` similarity of two lower-cased candidates (its pre-filter first)."""
    if s1 == s2:
        return 1.0
    len1, len2 = len(s1), len(s2)
    max_len = max(len1, len2)
    if abs(len1 - len2) > max_len * 0.6:
        return 0.0
    if max_len > 3:
        if s1[0] != s2[0] or s1[-1] != s2[-1]:
            return 0.0
        if min(len1, len2) >= 3 and s1[:2].lower() != s2[:2].lower():
            return 0.0
    if abs(s1.count(" ") - s2.count(" ")) > 1:
        return 0.0
    return _close(s1, s2)


def _close(s1: str, s2: str) -> float:
    max_len = max(len(s1), len(s2))
    if max_len == 0:
        return 0.0
    len_ratio = min(len(s1), len(s2)) / max_len
    if len_ratio < 0.3:
        return 0.0
    a, b = s1.lower(), s2.lower()
    union = set(a) | set(b)
    if not union:
        return 0.0
    char_overlap = len(set(a) & set(b)) / len(union)
    if char_overlap < 0.2:
        return 0.0
    if max_len <= 4:
        return char_overlap * len_ratio
    words1, words2 = a.split(), b.split()
    if len(words1) > 1 or len(words2) > 1:
        word_union = set(words1) | set(words2)
        if word_union:
            word_overlap = len(set(words1) & set(words2)) / len(word_union)
            if word_overlap > 0.4:
                return word_overlap
    tri1 = {a[i : i + 3] for i in range(len(a) - 2)}
    tri2 = {b[i : i + 3] for i in range(len(b) - 2)}
    tri_union = tri1 | tri2
    tri_overlap = len(tri1 & tri2) / len(tri_union) if tri_union else 0
    return min(0.3 * len_ratio + 0.2 * char_overlap + 0.5 * tri_overlap, 1.0)


def keywords(
    text: str,
    language: str,
    *,
    n: int,
    top: int,
    dedup: Callable[[str, str], float] = similarity,
) -> list[tuple[str, float]]:
    """The `top` keyphrases of up to `n` words, best (lowest score) first, as
    `yake.KeywordExtractor(lan=language, n=n, top=top).extract_keywords(text)`."""
    if not text:
        return []
    doc = _Document(text, stopwords(language), n)
    doc.score_terms()
    chosen: list[_Candidate] = []
    for cand in doc.score_candidates():
        key = cand.kw.lower()
        if all(dedup(key, c.kw.lower()) <= DEDUP_LIMIT for c in chosen):
            chosen.append(cand)
            if len(chosen) == top:
                break
    return [(c.kw, c.h) for c in chosen]


def clear_caches() -> None:
    """Forget the word tags and similarities memoised so far (for fair benchmarks)."""
    tag.cache_clear()
    similarity.cache_clear()
