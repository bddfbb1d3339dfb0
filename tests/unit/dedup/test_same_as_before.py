"""The engine's verdicts and story ids, pinned: `newswire cluster`'s offline path and the
agent's split path (prepare, the prep through its topic's JSON, keyed lookups, decide)
against the output the engine gave before its speed work (issue 15 item 3).

The corpus is made here, seeded: six events told in real English words with names (so
that the word-frequency IDF, the capitalised-name heuristic and the enricher's entities
all count), exact copies, near copies, same-URL updates, a German article, a language
without a word-frequency list (online document counts), and published dates past the
story window. `cluster-golden.jsonl` beside this file is what `newswire cluster` printed
for it before the optimisations; regenerate it only for a change meant to alter verdicts:

    python -m tests.unit.dedup.test_same_as_before > tests/unit/dedup/cluster-golden.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.dedup.config import DedupConfig
from services.dedup.engine import (
    Answers,
    Decider,
    DedupStores,
    Prepared,
    lookups_of,
    prepare,
    questions,
    stream_day,
)
from services.dedup.offline import cluster_lines, parse_item

GOLDEN = Path(__file__).with_name("cluster-golden.jsonl")
SEED = 15
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

EVENTS = [
    [
        "Mayor Helen Okafor opened the new Riverside Bridge on Monday after three years of work.",
        "The bridge links the harbour district with the old town across the Tamar river.",
        "Okafor said the crossing would cut traffic on the ring road by a third.",
        "Engineers from Castell Structures tested the deck with forty loaded lorries.",
        "Residents of Westbrook had campaigned for a footpath on the eastern side.",
        "The council budget for the project rose twice because of steel prices.",
    ],
    [
        "Storm Bellamy brought flooding to coastal towns in Cornwall overnight.",
        "The Environment Agency issued seven severe flood warnings along the coast.",
        "Firefighters rescued a family from a car trapped near Penzance harbour.",
        "Rail services between Exeter and Plymouth were suspended until further notice.",
        "Forecasters at the Met Office expect winds of ninety miles an hour by evening.",
        "Schools in Truro closed early as the storm reached the peninsula.",
    ],
    [
        "Nurses at St Aidan's Hospital voted to strike over pay and staffing levels.",
        "The Royal College of Nursing said ninety percent of members backed the action.",
        "Health minister Daniel Fenwick urged the union to return to talks.",
        "Managers warned that planned operations would be postponed during the walkout.",
        "The dispute began when the trust froze recruitment last autumn.",
        "Patients' groups asked for emergency care to be protected during the strike.",
    ],
    [
        "Astronomers at the Kepler Institute discovered a comet approaching the inner planets.",
        "The comet, named Varga after its discoverer Ilona Varga, will pass Mars in June.",
        "Telescopes in Chile and Hawaii confirmed the orbit within two nights.",
        "Varga said the comet could become visible to the naked eye in late summer.",
        "The tail already stretches several million kilometres, images show.",
        "Amateur observers have been asked to report sightings to the institute.",
    ],
    [
        "Farmers in Norfolk warned that the drought could halve the wheat harvest.",
        "Reservoirs in East Anglia are at their lowest level since records began.",
        "The National Farmers Union asked the government for emergency water licences.",
        "Irrigation bans have already been imposed on growers near King's Lynn.",
        "Economists expect bread prices to rise before the end of the year.",
        "Some farmers have started selling cattle early because grazing has dried up.",
    ],
    [
        "Tennis champion Marco Lindqvist withdrew from the Geneva Open with a wrist injury.",
        "Lindqvist had won his opening match in straight sets on Tuesday.",
        "His coach said scans showed inflammation but no fracture.",
        "The Swede hopes to be fit for the French Open next month.",
        "Organisers moved the quarter final to the centre court after the withdrawal.",
        "Lindqvist thanked fans in Geneva for their support during the tournament.",
    ],
]
GERMAN = [
    "Die Stadt Leipzig eröffnet im Sommer ein neues Schwimmbad am Auensee.",
    "Der Bürgermeister sagte, die Baukosten seien im Rahmen geblieben.",
    "Das Bad soll jährlich mehr als zweihunderttausend Besucher anziehen.",
    "Anwohner hatten lange für eine Sanierung des alten Freibads gekämpft.",
]
NO_LIST = [  # a made-up language: no word-frequency list, document counts online
    "Zorva kelint amrath Tuvessa polrinde vashket Orlemmo kirath.",
    "Amrath Tuvessa delvinor kashpe morrint Orlemmo zeth valder.",
    "Polrinde kirath vashket Tuvessa amrath sorrel Orlemmo vint.",
]
NAMES = [["Helen Okafor"], ["Bellamy", "Cornwall"], ["Daniel Fenwick"], ["Ilona Varga"], [], []]


def corpus() -> list[dict[str, Any]]:
    """The articles, in arrival order, as `newswire cluster` reads them."""
    rng = random.Random(SEED)
    rows: list[dict[str, Any]] = []

    def text_of(sentences: list[str], n: int) -> str:
        return " ".join(rng.sample(sentences, min(n, len(sentences))))

    for round_ in range(3):
        for event, sentences in enumerate(EVENTS):
            when = START + timedelta(hours=6 * round_ + event, days=4 * (event == 5) * round_)
            row: dict[str, Any] = {
                "id": f"e{event}-r{round_}",
                "url": f"https://site{round_}.example/news/{event}/{round_}",
                "title": sentences[0][:60],
                "text": text_of(sentences, 4 + round_),
                "published": when.isoformat(),
                "language": "en" if round_ < 2 else None,
            }
            if NAMES[event] and round_ != 1:
                row["entities"] = NAMES[event]
            rows.append(row)
    originals = list(rows)
    for i, row in enumerate(rng.sample(originals, 6)):
        rows.append({**row, "id": f"copy{i}", "url": f"https://mirror.example/{i}"})
    for i, row in enumerate(rng.sample(originals, 6)):
        words = row["text"].split()
        for at in rng.sample(range(len(words)), 2):
            words[at] = f"changed{at}"
        rows.append(
            {**row, "id": f"near{i}", "url": f"https://agg.example/{i}", "text": " ".join(words)}
        )
    for row in rng.sample(originals, 3):
        more = EVENTS[int(row["id"][1])][-1]
        rows.append({**row, "id": f"{row['id']}-v2", "text": f"{row['text']} {more} Updated."})
    rows.append({**rows[0]})  # the same article with the same text again
    for i in range(2):
        rows.append(
            {
                "id": f"de{i}",
                "url": f"https://zeitung.example/{i}",
                "language": "de",
                "text": " ".join(rng.sample(GERMAN, 3)),
            }
        )
    for i in range(3):
        rows.append({"id": f"xx{i}", "language": "xx", "text": " ".join(rng.sample(NO_LIST, 2))})
    rng.shuffle(rows)
    return rows


def lines() -> list[str]:
    return [json.dumps(row, ensure_ascii=False) for row in corpus()]


def golden() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]


def test_newswire_cluster_gives_what_it_gave_before_the_speed_work() -> None:
    got = list(cluster_lines(lines(), DedupConfig()))
    want = golden()
    assert len(got) == len(want) == len(corpus())
    assert [row for row in got if row not in want] == []
    assert got == want
    # The corpus exercises what it is meant to: every kind of decision.
    assert {row["verdict"] for row in got} == {"new", "duplicate", "update"}
    assert len({row["story_id"] for row in got}) < sum(row["verdict"] == "new" for row in got)


def test_the_agents_split_path_gives_the_same_as_newswire_cluster() -> None:
    """prepare -> the prep as its topic carries it (JSON) -> keyed lookups -> decide, the
    way the agent's hops run them, against the offline path's output."""
    config = DedupConfig()
    stores = DedupStores()
    lookups, decider = lookups_of(stores, config), Decider(stores, config)
    got = []
    for seq, line in enumerate(lines()):
        item = parse_item(line)
        clock = decider.progress()[1]
        local = prepare(item, config, default_day=clock)
        prep = Prepared.from_json(json.loads(json.dumps(local.to_json())))
        day = stream_day(clock, prep)
        answers = [lookups.answer(q) for q in questions(prep, seq, day)]
        result = decider.decide(seq, prep, Answers.gather(prep, answers), day)
        got.append(
            {
                "id": result.id,
                "verdict": result.verdict,
                "duplicate_of": result.duplicate_of,
                "story_id": result.story_id,
                "version": result.version,
                "similarity": result.similarity,
            }
        )
    assert got == golden()


if __name__ == "__main__":
    for row in cluster_lines(lines(), DedupConfig()):
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
