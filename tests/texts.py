"""Synthetic news text for dedup tests: random sentences over a vocabulary of each
topic's own, so that stories on different topics stay apart."""

from __future__ import annotations

import random

WORDS = [
    "harbour",
    "council",
    "budget",
    "storm",
    "minister",
    "river",
    "vote",
    "school",
    "bridge",
    "court",
    "police",
    "hospital",
    "market",
    "union",
    "strike",
    "museum",
    "airport",
    "railway",
    "festival",
    "election",
    "tax",
    "farmers",
    "drought",
    "flood",
    "energy",
    "prices",
    "wages",
    "teachers",
    "nurses",
    "mayor",
    "governor",
    "border",
    "treaty",
    "summit",
    "ceasefire",
    "talks",
    "vaccine",
    "study",
    "report",
    "museum",
    "archive",
]


def story_text(seed: str, topic: int, n_words: int = 220) -> str:
    """Random sentences over a vocabulary of the topic's own, so that stories stay apart."""
    rng = random.Random(seed)
    vocabulary = [f"{word}{'xyzqkjvw'[topic]}" for word in WORDS]
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < n_words:
        sentences.append(" ".join(rng.choice(vocabulary) for _ in range(12)).capitalize() + ".")
    return " ".join(sentences)
