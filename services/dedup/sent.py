"""Which decisions are on newswire.stories already, after a crash of the decider.

The decider notes in its table the last article whose story records the broker has
acknowledged (`SentMark`), together with where those records ended on each partition of
newswire.stories. That note is a changelog write of its own, so a crash can fall
between a story record reaching the broker and the note that says so: the decisions
read again after the restart would then send their records a second time.

Instead of trusting the note alone, a decider that takes over the sequence reads
newswire.stories from the noted ends to the partitions' current ends: every story
record carries its sequence number in a header (`SEQ_HEADER`), so what was sent after
the note is known exactly and is not sent again (the agent reads the tail with
`services.common.kafka.read_tail`; this module is pure). The scan is short (only what was sent
since the last note, normally a handful of records). A record is taken as "already
sent" only when its header's sequence number and its article id both match, so a topic
recreated under the same name (its sequence numbers starting again) cannot hide a
decision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: The Kafka header of a story record holding the decider's sequence number (decimal).
SEQ_HEADER = "newswire-dedup-seq"
#: ... and the decision sequence it is numbered in (scope.py), when not the first.
SEQUENCE_HEADER = "newswire-dedup-sequence"


def seq_header(seq: int, sequence: int = 0) -> tuple[tuple[str, bytes], ...]:
    number = ((SEQ_HEADER, str(seq).encode()),)
    return (*number, (SEQUENCE_HEADER, str(sequence).encode())) if sequence else number


@dataclass
class SentMark:
    """The last sequence number whose story records the broker has, and the offset just
    past the last story record acknowledged on each partition up to then."""

    seq: int = -1
    ends: dict[int, int] = field(default_factory=dict)

    @classmethod
    def decode(cls, raw: str | None) -> SentMark:
        if not raw:
            return cls()
        if raw.lstrip("-").isdigit():  # a note written before the ends were kept
            return cls(int(raw))
        data = json.loads(raw)
        return cls(int(data["seq"]), {int(p): int(o) for p, o in data.get("ends", {}).items()})

    def encode(self) -> str:
        return json.dumps({"seq": self.seq, "ends": {str(p): o for p, o in self.ends.items()}})

    def advance(self, seq: int, acknowledged: list[Any], topic: str) -> None:
        """Move to `seq`, whose story records the broker acknowledged with `acknowledged`
        (aiokafka RecordMetadata)."""
        self.seq = max(self.seq, seq)
        for md in acknowledged:
            if getattr(md, "topic", None) == topic:
                self.ends[md.partition] = max(self.ends.get(md.partition, 0), md.offset + 1)


def sent_record(headers: Any, value: bytes | None, sequence: int = 0) -> tuple[int, str] | None:
    """(sequence number, article id) of a story record decided in decision sequence
    `sequence`, or None for one without them or of another sequence."""
    found = dict(headers or ())
    seq = found.get(SEQ_HEADER)
    if seq is None or value is None:
        return None
    try:
        if int(found.get(SEQUENCE_HEADER, b"0")) != sequence:
            return None
        return int(seq), str(json.loads(value)["article_id"])
    except (ValueError, KeyError, TypeError):
        return None
