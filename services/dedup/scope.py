"""Story scopes: which decision sequence an article is decided in.

Dedup decides articles one after another, because a verdict depends on every earlier
decision; one sequence is therefore one core's work. A deployment that does not need
every article compared with every other can split them by scope (their language, their
site or their feed, `NEWSWIRE_DEDUP_SCOPE`) into several sequences, the partitions of
newswire.dedup-sequence: each is decided in order on its own, by whichever worker holds
it, and an article is compared only with the articles of its own sequence. What that
costs: a copy in another sequence (a translation, or the same wire story on a site in
another sequence) is not found, and a story does not span sequences.

A scope goes to the sequence `NEWSWIRE_DEDUP_SCOPE_MAP` names for it, else to the one a
hash of its name picks, so the same scope always lands in the same sequence. Everything
a sequence keeps is its own: its decider state (under a key prefix per sequence in the
decider's table) and its lookup keys (`lookup_key`), so two sequences never see each
other's articles, whichever workers hold them. Sequence 0 keeps the key layout of a
deployment with one sequence, whose state therefore carries over unchanged.

Pure: no Kafka, no Faust.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from services.common.topics import partition_for

SCOPES = ("none", "language", "site", "feed")
# The scope of an article whose language (site, feed) is not known.
UNKNOWN = "-"


def scope_name(
    scope: str,
    *,
    language: str | None = None,
    site: str | None = None,
    feed_url: str | None = None,
    url: str | None = None,
) -> str:
    """The name of an article's scope under the `scope` setting ("" for "none")."""
    if scope == "none":
        return ""
    if scope == "language":
        return (language or UNKNOWN).lower()
    if scope == "site":
        host = site or (urlsplit(url).hostname if url else None)
        return host.lower().removeprefix("www.") if host else UNKNOWN
    if scope == "feed":
        return feed_url or UNKNOWN
    raise ValueError(f"unknown dedup scope {scope!r}: one of {', '.join(SCOPES)}")


def sequence_of(name: str, sequences: int, mapping: Mapping[str, int] | None = None) -> int:
    """The decision sequence (partition of newswire.dedup-sequence) of scope `name`."""
    if sequences <= 1:
        return 0
    if mapping and name in mapping:
        return mapping[name]
    return partition_for(name, sequences)


def lookup_key(sequence: int, key: str) -> str:
    """Where a sequence files a lookup key (URL key, content hash, band or story key):
    sequence 0 as the key itself, the others under a prefix of their own."""
    return key if sequence == 0 else f"{sequence}~{key}"


def store_prefix(sequence: int, store: str) -> str:
    """The key prefix of one of a sequence's decider stores in the decider's table."""
    return f"{store}:" if sequence == 0 else f"{sequence}/{store}:"


def store_of(table_key: str) -> str:
    """The store a decider-table key belongs to, whichever sequence wrote it."""
    return table_key.split(":", 1)[0].rpartition("/")[2]
