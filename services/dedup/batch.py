"""The decider's writes for one article, logged before they are applied.

A decision writes several entries (outcome, sketch, story centroid, entity counts,
progress). If the worker dies halfway, the worker that takes over recovers the
decider's table from its changelog, and a decision applied in part would be applied
again in full: entity counts and centroids counted twice, later stories different
from what one uninterrupted run gives. So a decision runs against an overlay that
collects its writes; the collected writes are stored under one key first (the
write-ahead record), then applied, then the progress record says the article is
decided. The decider's stores share one table (app.py), whose changelog is one
ordered log, so what survives a crash is a prefix of those writes: nothing (decide
again), the write-ahead record and some writes (apply it again: the writes are final
values, so applying twice changes nothing), or everything.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, MutableMapping
from typing import Any, Generic, TypeVar

V = TypeVar("V", str, bytes)


class Overlay(MutableMapping[str, V], Generic[V]):
    """A store's view that reads through to it and keeps writes (None: deleted) aside."""

    def __init__(self, base: MutableMapping[str, V]) -> None:
        self.base: MutableMapping[str, V] = base
        self.writes: dict[str, V | None] = {}

    def __getitem__(self, key: str) -> V:
        if key not in self.writes:
            found: V = self.base[key]
            return found
        value = self.writes[key]
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        # As `self[key]` with KeyError as `default`, without raising: a decision reads
        # dozens of keys that no store holds yet (a new entity's count).
        writes = self.writes
        if key in writes:
            value = writes[key]
            return default if value is None else value
        base = self.base
        if type(base) is dict:
            return base.get(key, default)
        try:
            return base[key]
        except KeyError:
            return default

    def __setitem__(self, key: str, value: V) -> None:
        self.writes[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.writes[key] = None

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:  # not used while deciding; complete for safety
        seen = set(self.writes)
        yield from (k for k, v in self.writes.items() if v is not None)
        yield from (k for k in self.base if k not in seen)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def encode_writes(seq: int, writes: list[tuple[str, str, str | bytes | None]]) -> str:
    """The write-ahead record: (store, key, value or None) in order, bytes in base64."""
    ops = [
        [
            store,
            key,
            None
            if v is None
            else ({"b": base64.b64encode(v).decode()} if isinstance(v, bytes) else v),
        ]
        for store, key, v in writes
    ]
    return json.dumps({"seq": seq, "ops": ops}, separators=(",", ":"))


def logged_seq(raw: str) -> int:
    """The sequence number of a write-ahead record, read from the record's head when it is
    as `encode_writes` writes it: every decision asks, and decoding every write (the
    sketch in base64, the centroid) to learn it cost more than the answer is worth."""
    if raw.startswith(_SEQ_HEAD):
        head = raw[len(_SEQ_HEAD) : raw.find(",", len(_SEQ_HEAD))]
        if head.isdigit() and head.isascii():
            return int(head)
    return decode_writes(raw)[0]


_SEQ_HEAD = '{"seq":'


def decode_writes(raw: str) -> tuple[int, list[tuple[str, str, str | bytes | None]]]:
    record = json.loads(raw)
    ops: list[tuple[str, str, str | bytes | None]] = []
    for store, key, value in record["ops"]:
        if isinstance(value, dict):
            value = base64.b64decode(value["b"])
        ops.append((store, key, value))
    return int(record["seq"]), ops
