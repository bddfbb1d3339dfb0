from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.dedup.cluster import StoryClusterer, lookup_keys, story_features
from services.dedup.config import DedupConfig
from services.dedup.engine import Deduper, DedupStores, Item
from services.dedup.idf import background_idf

T0 = datetime(2024, 5, 1, tzinfo=UTC)
REID = "Tara Reid checked into Promises Treatment Center in Malibu, her rep told People."


def test_background_idf_orders_words_by_rarity() -> None:
    idf = background_idf("en")
    assert idf is not None
    assert idf("the") < idf("government") < idf("rehab") < idf("zzyzxqw")
    assert idf("the") < 0.01  # in nearly every article: nearly no weight
    # Other languages have their own lists; py3langid's "no" is wordfreq's "nb".
    de, nb = background_idf("de"), background_idf("no")
    assert de is not None and nb is not None
    assert de("und") < de("regierung") and nb("og") < nb("regjeringen")


def test_no_list_means_online_counts() -> None:
    assert background_idf(None) is None
    assert background_idf("xx") is None


class CountingStore(dict[str, Any]):
    """A dict that counts writes: each is a changelog record in the agent."""

    writes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def test_background_idf_counts_only_entities() -> None:
    terms = CountingStore()
    clusterer = StoryClusterer({}, terms, DedupConfig())
    features = story_features(REID, entities=["Tara Reid", "Promises Treatment Center"])
    first = clusterer.assign(features, "a", 0, 0.0, background_idf("en"))
    assert "e:tara reid" in terms and "#docs" in terms
    assert all(k == "#docs" or k.startswith("e:") for k in terms)
    assert terms.writes == len(terms) < len(features) / 2
    second = clusterer.assign(features, "b", 0, 60.0, background_idf("en"), candidates=["a"])
    assert second.story_id == first.story_id == "a"
    # Without a list every term is counted, as before.
    clusterer.assign(story_features("Noch ein Text über etwas anderes"), "c", 0, 0.0, None)
    assert "t:noch" in terms


def test_lookup_keys_prefer_rare_words_and_names() -> None:
    features = story_features(
        "The actress said the rehab stay was planned. The actress thanked fans.",
        entities=["Tara Reid"],
    )
    config = DedupConfig(story_lookup_features=4)
    keys = lookup_keys(features, background_idf("en"), config)
    assert keys[:2] == ["e:tara reid", "e:reid"]  # names first
    assert len(keys) == 4 and not {"t:said", "t:planned", "t:stay"} & set(keys)
    # Without a list: by frequency alone, still deterministic.
    assert lookup_keys(features, None, config) == lookup_keys(features, None, config)


def test_engine_detects_the_language_when_the_enricher_did_not() -> None:
    stores = DedupStores()
    d = Deduper(stores)
    d.process(Item("a", REID + " She is expected to stay for several weeks."), T0)
    assert not [k for k in stores.terms if k.startswith("t:")]
    zulu = "Nkosi sikelel' iAfrika, maluphakanyisw' uphondo lwayo."
    d.process(Item("b", zulu, language="zu"), T0)
    assert [k for k in stores.terms if k.startswith("t:")]
