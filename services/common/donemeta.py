"""Records finished past the committed offset, carried in the offset commit's metadata.

A partition's commit is one offset: everything before it is done. An agent that
finishes records out of order (the fetcher's per-host lanes) has, when it stops, many
records done beyond the first one still open, and a plain commit would have them
redone after a restart (issue 13: a quarter of the corpus fetched again). Kafka keeps
a metadata string with every committed offset; here it carries a bitmap of the
records done after that offset, so the next owner of the partition skips them, as
Confluent's parallel consumer does. The bitmap is only valid for the offset it was
committed with; the next owner's commits carry the offsets still ahead of them
(`carried`), so a rebalance soon after a restart does not forget them. A commit that
drops it (another client's, a failed read) only means the records are redone, never lost.

Pure functions, no Kafka.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable

PREFIX = "nw-done1"
# Brokers refuse metadata above offset.metadata.max.bytes (4096 by default).
MAX_CHARS = 3000


def _bitmap(base: int, offsets: list[int]) -> bytes:
    span = offsets[-1] - base + 1
    bits = bytearray((span + 7) // 8)
    for offset in offsets:
        i = offset - base
        bits[i >> 3] |= 1 << (i & 7)
    return bytes(bits)


def encode_done(base: int, offsets: Iterable[int], max_chars: int = MAX_CHARS) -> str:
    """Metadata for a commit at `base` saying `offsets` (those >= base) are done; the
    highest are left out while it does not fit in `max_chars` ("" when none fit)."""
    done = sorted({o for o in offsets if o >= base})
    while done:
        payload = base64.urlsafe_b64encode(zlib.compress(_bitmap(base, done), 9)).decode()
        text = f"{PREFIX}:{base}:{payload}"
        if len(text) <= max_chars:
            return text
        done = done[: len(done) // 2]
    return ""


def decode_done(metadata: str | None, committed: int | None) -> frozenset[int]:
    """The offsets the metadata says are done, if it was written for the `committed`
    offset; anything else (another writer's metadata, a damaged string) says none."""
    if not metadata or committed is None:
        return frozenset()
    parts = metadata.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] != str(committed):
        return frozenset()
    try:
        bits = zlib.decompress(base64.urlsafe_b64decode(parts[2]))
    except (ValueError, zlib.error):
        return frozenset()
    return frozenset(
        committed + (i << 3) + b for i, byte in enumerate(bits) for b in range(8) if byte >> b & 1
    )


def carried(base: int, metadata: str | None, known: Iterable[int]) -> str:
    """The metadata for a commit at `base`: as given when it says something, else the
    `known` done offsets from `base` on, so a commit that does not reach them yet keeps
    them for the partition's next owner (a plain commit would forget them)."""
    if metadata:
        return metadata
    return encode_done(base, (o for o in known if o >= base))
