"""Article-body scoring of the Scrapinghub/Zyte article extraction benchmark, as pure functions.

This follows `evaluate.py` of github.com/scrapinghub/article-extraction-benchmark
(read at commit 7d95432d; `string_shingle_matching`, `metrics_from_tp_fp_fns`,
`precision_score`, `recall_score`, `_tokenize`, `_ngrams`):

- tokens are `\\w+` matches, case-sensitive: evaluate.py compiles its token regex
  with re.IGNORECASE, which does not change what `\\w+` matches, and never
  lowercases, so "The" and "the" are different tokens;
- shingles are runs of 4 consecutive tokens, counted as a multiset; a text of 1 to
  3 tokens makes one shorter shingle (its whole token run), an empty text none;
- per document, tp/fp/fn are the multiset overlap, the shingles only predicted and
  the shingles only in the gold text, each divided by tp+fp+fn, so every document
  weighs the same whatever its length;
- precision is the mean of tp/(tp+fp) over documents with tp+fp > 0 (an empty
  prediction costs recall only), recall the mean of tp/(tp+fn) over documents with
  tp+fn > 0, and F1 is the harmonic mean of those two means (not a mean of F1s).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

SHINGLE_N = 4
_TOKEN_RE = re.compile(r"\w+")

Shingle = tuple[str, ...]


def tokenize(text: str | None) -> list[str]:
    """The `\\w+` tokens of `text`, case kept (None is an empty text)."""
    return _TOKEN_RE.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE_N) -> Counter[Shingle]:
    """The multiset of `n`-token shingles of `text` (one short shingle for 1..n-1 tokens)."""
    tokens = tokenize(text)
    if not tokens:
        return Counter()
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


@dataclass(frozen=True)
class Match:
    """One document's shingle overlap, normalised so that tp + fp + fn == 1 (or all 0)."""

    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float | None:
        """tp/(tp+fp); None when nothing was predicted (the document is not in the mean)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else None

    @property
    def recall(self) -> float | None:
        """tp/(tp+fn); None when the gold text is empty (the document is not in the mean)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn > 0 else None

    @property
    def f1(self) -> float:
        """This document's F1 (for ranking documents): 0 for an empty prediction of a
        non-empty gold text, 1 when both are empty (the benchmark's convention)."""
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total > 0 else 1.0


def match(gold: str | None, predicted: str | None, n: int = SHINGLE_N) -> Match:
    """Compare a predicted article body with the gold one, shingle by shingle."""
    true, pred = shingles(gold, n), shingles(predicted, n)
    tp = float(sum((true & pred).values()))
    fp = float(sum((pred - true).values()))
    fn = float(sum((true - pred).values()))
    total = tp + fp + fn
    if total > 0:
        tp, fp, fn = tp / total, fp / total, fn / total
    return Match(tp, fp, fn)


@dataclass(frozen=True)
class Totals:
    """Benchmark figures over a set of documents."""

    precision: float
    recall: float
    f1: float
    docs: int
    precision_docs: int  # documents with tp+fp > 0: something was predicted
    recall_docs: int  # documents with tp+fn > 0: the gold text is not empty


def aggregate(matches: Iterable[Match]) -> Totals:
    """Precision and recall averaged over the documents where each is defined; F1 from both.

    Where evaluate.py would fail on an empty mean (no document predicted at all),
    the mean is 0.0.
    """
    items = list(matches)
    precisions = [m.precision for m in items if m.precision is not None]
    recalls = [m.recall for m in items if m.recall is not None]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return Totals(precision, recall, f1, len(items), len(precisions), len(recalls))


def unmatched_spans(
    text: str | None, other: str | None, *, n: int = SHINGLE_N, min_tokens: int = 2
) -> list[str]:
    """The stretches of `text` that the scoring counts as absent from `other`, in order.

    A diagnostic, not part of the score. Shingles of `text` are matched left to right
    against the multiset of `other`'s shingles (so a second copy of a paragraph is
    unmatched); a token is matched when a matched shingle covers it. Runs of at least
    `min_tokens` unmatched tokens come back as the original text from their first to
    their last token, whitespace collapsed. With `text` the prediction and `other`
    the gold body these are the extra stretches (cruft); the other way round, the
    missing ones.
    """
    words = list(_TOKEN_RE.finditer(text or ""))
    if not words:
        return []
    tokens = [w.group() for w in words]
    available = shingles(other, n)
    covered = [False] * len(tokens)
    for i in range(max(1, len(tokens) - n + 1)):
        shingle = tuple(tokens[i : i + n])
        if available[shingle] > 0:
            available[shingle] -= 1
            covered[i : i + len(shingle)] = [True] * len(shingle)
    spans: list[str] = []
    start: int | None = None
    for j in range(len(tokens) + 1):
        if j < len(tokens) and not covered[j]:
            start = j if start is None else start
        elif start is not None:
            if j - start >= min_tokens:
                piece = (text or "")[words[start].start() : words[j - 1].end()]
                spans.append(" ".join(piece.split()))
            start = None
    return spans


# --- trafilatura's snippet metric (its tests/comparison.py `evaluate_result`) ----------

_SPACE_RE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Whitespace runs collapsed to one space, as the snippet metric compares texts."""
    return _SPACE_RE.sub(" ", text).strip()


@dataclass(frozen=True)
class SnippetCounts:
    """One page's snippet outcome: `with` snippets found (tp) or missed (fn), `without`
    snippets found (fp) or absent (tn)."""

    tp: int
    fn: int
    fp: int
    tn: int

    def __add__(self, other: SnippetCounts) -> SnippetCounts:
        return SnippetCounts(
            self.tp + other.tp, self.fn + other.fn, self.fp + other.fp, self.tn + other.tn
        )

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def snippets(text: str | None, with_: Iterable[str], without: Iterable[str]) -> SnippetCounts:
    """Case-sensitive substring tests of each snippet in the extracted text, whitespace
    normalised on both sides; no text finds nothing (its `with` snippets are missed)."""
    flat = squash(text or "")
    found = [bool(flat) and squash(s) in flat for s in with_]
    unwanted = [bool(flat) and squash(s) in flat for s in without]
    return SnippetCounts(
        tp=sum(found),
        fn=len(found) - sum(found),
        fp=sum(unwanted),
        tn=len(unwanted) - sum(unwanted),
    )


def snippet_totals(counts: Iterable[SnippetCounts]) -> SnippetCounts:
    """The counts of all pages added up: precision, recall and F1 over all snippets."""
    total = SnippetCounts(0, 0, 0, 0)
    for c in counts:
        total = total + c
    return total


# --- lost articles -------------------------------------------------------------------

# A page whose bare-trafilatura text is at least this long has an article to lose...
LOST_MIN_CHARS = 500
# ...and a cleaner body under this share of it has lost it (the definition).
LOST_SHARE = 0.3


def is_lost(ours: str, bare: str) -> bool:
    """Whether the cleaner's body (empty for no_content) lost the article bare trafilatura found."""
    return len(bare) >= LOST_MIN_CHARS and len(ours) < LOST_SHARE * len(bare)
