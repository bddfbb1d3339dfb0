"""Extractive summary: the sentences that carry the article's most frequent content words."""

from __future__ import annotations

import re
from collections import Counter

# Split after ., ! or ? (optionally closed by a quote) followed by space and a capital/quote.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’]?\s+(?=[\"'“‘A-Z0-9])")
TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "said",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    ]
)


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(s.strip() for s in SENTENCE_END.split(paragraph) if s.strip())
    return out


def summarize(text: str, max_sentences: int) -> list[str]:
    """Pick up to `max_sentences` sentences by content-word weight, kept in article order.

    The lead sentence gets a small bonus (news leads usually summarise), but a
    weak lead loses to sentences that carry more of the article's vocabulary.
    """
    sents = sentences(text)
    if len(sents) <= max_sentences:
        return sents
    words = [w.lower() for w in TOKEN.findall(text)]
    freq = Counter(w for w in words if w not in STOPWORDS and len(w) > 2)
    if not freq:
        return sents[:max_sentences]
    top = max(freq.values())

    def score(index: int, sentence: str) -> float:
        toks = [w.lower() for w in TOKEN.findall(sentence)]
        content = [w for w in toks if w in freq]
        if len(toks) < 5:
            return 0.0
        base: float = sum(freq[w] / top for w in content) / (len(toks) ** 0.5)
        return base * (1.25 if index == 0 else 1.0)

    ranked = sorted(range(len(sents)), key=lambda i: score(i, sents[i]), reverse=True)
    return [sents[i] for i in sorted(ranked[:max_sentences])]
