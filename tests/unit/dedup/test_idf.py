from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.dedup.cluster import StoryClusterer, story_features
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
    terms, keys = CountingStore(), CountingStore()
    clusterer = StoryClusterer({}, keys, terms, DedupConfig())
    features = story_features(REID, entities=["Tara Reid", "Promises Treatment Center"])
    first = clusterer.assign(features, "a", 0, 0.0, background_idf("en"))
    assert "e:tara reid" in terms and "#docs" in terms
    assert all(k == "#docs" or k.startswith("e:") for k in terms)
    assert terms.writes == len(terms) < len(features) / 2
    # The same features again join the story; its lookup keys already name it today,
    # so they are not written again.
    written = keys.writes
    second = clusterer.assign(features, "b", 0, 60.0, background_idf("en"))
    assert second.story_id == first.story_id == "a"
    assert keys.writes == written
    # Without a list every term is counted, as before.
    clusterer.assign(story_features("Noch ein Text über etwas anderes"), "c", 0, 0.0, None)
    assert "t:noch" in terms


def test_engine_detects_the_language_when_the_enricher_did_not() -> None:
    stores = DedupStores()
    d = Deduper(stores)
    d.process(Item("a", REID + " She is expected to stay for several weeks."), T0)
    assert not [k for k in stores.terms if k.startswith("t:")]
    zulu = "Nkosi sikelel' iAfrika, maluphakanyisw' uphondo lwayo."
    d.process(Item("b", zulu, language="zu"), T0)
    assert [k for k in stores.terms if k.startswith("t:")]
