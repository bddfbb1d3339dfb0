"""The chaos and soak harnesses: their scoring on hand-made story lists, the corpus and
the site, the seeded plan; and one tiny end-to-end chaos run (integration)."""

from __future__ import annotations

import base64
import gzip
import json
import random
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from services.common.models import Enriched
from services.common.urls import article_id
from services.devtools import chaos, corpus, harness, soak
from services.devtools.corpus import Copy
from services.devtools.harness import StoryRecord
from tests.texts import story_text

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def rec(aid: str, verdict: str, story: str, dup: str | None = None, at: int = 0) -> StoryRecord:
    return StoryRecord(aid, verdict, story, dup, T0 + timedelta(seconds=at))


# ---------------------------------------------------------------- scoring


def test_first_decision_is_the_earliest_whatever_the_read_order() -> None:
    late = rec("a", "duplicate", "s2", "b", at=9)
    early = rec("a", "new", "s1", at=1)
    assert chaos.first_decisions([late, early])["a"] == early


def test_score_counts_lost_extra_and_changed_redeliveries() -> None:
    ids = {"a", "b", "c", "d", "e"}
    stories = [
        rec("a", "new", "sa", at=1),
        rec("a", "new", "sa", at=5),  # redelivered, same decision: extra, no change
        rec("b", "new", "sb", at=2),
        rec("b", "new", "sX", at=6),  # redelivered under another story: a change
        rec("b", "duplicate", "sb", "a", at=7),  # and a third record
        rec("c", "new", "sc", at=3),
        rec("zz", "new", "sz", at=4),  # not ours: ignored
    ]
    got = chaos.score(stories, dlq_ids={"d"}, truth_ids=ids, copies=[])
    assert got["lost"] == 1 and got["examples"]["lost"] == ["e"]
    assert got["extra_story_records"] == 3
    assert got["articles_with_extra_records"] == 2
    assert got["verdict_changes_on_redelivery"] == 1
    assert got["examples"]["verdict_changes"] == ["b"]
    assert got["dead_lettered"] == 1 and got["decided"] == 3


def test_copies_are_caught_in_either_order_and_missed_by_kind() -> None:
    copies = [
        Copy("c1", "o1", "exact_copy"),  # copy after its original: duplicate of it
        Copy("c2", "o2", "exact_copy"),  # the copy arrived first: the original is the dup
        Copy("c3", "o3", "framed_copy"),  # both new: missed
        Copy("c4", "o4", "exact_copy"),  # duplicate, but of something in another story
        Copy("c5", "o5", "exact_copy"),  # the original went to the DLQ: not scored
    ]
    stories = [
        rec("o1", "new", "s1"),
        rec("c1", "duplicate", "s1", "o1", at=1),
        rec("c2", "new", "s2"),
        rec("o2", "duplicate", "s2", "c2", at=1),
        rec("o3", "new", "s3"),
        rec("c3", "new", "s3b", at=1),
        rec("o4", "new", "s4"),
        rec("c4", "duplicate", "s9", "x", at=1),
        rec("c5", "new", "s5"),
    ]
    ids = {a for c in copies for a in (c.copy, c.original)}
    got = chaos.score(stories, dlq_ids={"o5"}, truth_ids=ids, copies=copies)
    assert got["copies_missed"] == 2
    assert got["copies_missed_by_kind"] == {"exact_copy": 1, "framed_copy": 1}
    assert got["copies_not_scored"] == 1


def test_differing_from_undisturbed_by_verdict_and_by_grouping() -> None:
    copies = [Copy("c", "o", "exact_copy")]
    base = [
        rec("o", "new", "S1"),
        rec("c", "duplicate", "S1", "o", at=1),
        rec("x", "new", "S2", at=2),
        rec("y", "new", "S2", at=3),  # y joined x's story
        rec("z", "new", "S3", at=4),
    ]
    # Different story ids, same grouping for x/y; the copy pair swapped roles; z now
    # shares a story with y.
    hit = [
        rec("c", "new", "T1"),
        rec("o", "duplicate", "T1", "c", at=1),
        rec("x", "new", "T2", at=2),
        rec("y", "new", "T2", at=3),
        rec("z", "new", "T2", at=4),
    ]
    ids = {"o", "c", "x", "y", "z"}
    got = chaos.score(hit, set(), ids, copies, baseline=base)
    assert got["differing_by_verdict"] == 2  # o and c
    assert got["differing_copy_role_swaps"] == 1
    # x, y and z: the story x/y gained z in one run only.
    assert got["differing_by_grouping"] == 3
    assert got["verdicts_differing_from_undisturbed"] == 5
    same = chaos.score(base, set(), ids, copies, baseline=list(base))
    assert same["verdicts_differing_from_undisturbed"] == 0


def sequenced(partition: int, articles: list[Enriched]) -> list[dict[str, object]]:
    """newswire.dedup-sequence records as topicread gives them (the prep is not read)."""
    return [
        {"partition": partition, "offset": i, "value": {"article": a.model_dump(mode="json")}}
        for i, a in enumerate(articles)
    ]


def test_decisions_are_checked_against_the_engine_over_the_workers_sequence() -> None:
    def article(aid: str, text: str) -> Enriched:
        return Enriched(
            id=aid, url=f"http://outlet.example/{aid}", title=aid, text=text, paragraphs=[text]
        )

    a, b = story_text("a", 0), story_text("b", 1)
    # The copy "c" arrived before its original "o" in this run's sequence; "o" again
    # (re-sequenced after a crash) is a replay; "b" is decided in a second sequence.
    seq = sequenced(0, [article("c", a), article("o", a), article("o", a)])
    seq += sequenced(1, [article("b", b)])
    right = [
        rec("c", "new", "c"),
        rec("o", "duplicate", "c", "c", at=1),
        rec("b", "new", "b", at=2),
    ]
    ids = {"c", "o", "b"}
    got = chaos.score(right, set(), ids, [], sequenced=seq)
    assert got["decisions_unlike_engine_in_sequence_order"] == 0
    # The original first, as an undisturbed run might have it: right there, not here.
    swapped = [rec("o", "new", "o"), rec("c", "duplicate", "o", "o", at=1), right[2]]
    got = chaos.score(swapped, set(), ids, [], sequenced=seq)
    assert got["decisions_unlike_engine_in_sequence_order"] == 2
    assert got["examples"]["unlike_engine"] == ["c", "o"]


def test_dead_lettered_only_under_fire_are_those_decided_undisturbed() -> None:
    errors = {"a": "timeout", "b": "no_content", "c": "timeout"}
    hit = [rec("c", "new", "sc")]  # dead-lettered once, decided after all
    calm = [rec("a", "new", "sa"), rec("c", "new", "sc")]  # b: dead-lettered there too
    assert chaos.dead_lettered_only(errors, hit, calm) == {"a": "timeout"}


def test_resent_counts_records_beyond_one_per_article() -> None:
    from collections import Counter

    counts = {t: Counter[str]() for t in harness.WATCHED}
    counts[harness.PAGES].update(["a", "a", "a", "b", "other", "other"])
    counts[harness.STORIES].update(["a", "b", "b"])
    got = chaos.resent(counts, {"a", "b"})
    assert got["pages"] == 2 and got["stories"] == 1 and got["articles"] == 0
    assert "dlq" not in got


def test_dead_letters_resolve_to_their_article() -> None:
    known = {"abc"}
    assert harness.dlq_article_id(b"abc", {}, known) == "abc"
    link = "http://127.0.0.10:8000/news/0001.html"
    entry = base64.b64encode(json.dumps({"link": link, "entry_id": "g"}).encode()).decode()
    assert harness.dlq_article_id(b"127.0.0.10:8000", {"original_b64": entry}, known) == (
        article_id(link)
    )
    page = base64.b64encode(json.dumps({"article_id": "abc"}).encode()).decode()
    assert harness.dlq_article_id(b"zzz", {"original_b64": page}, known) == "abc"


# ---------------------------------------------------------------- the plan


def test_plan_is_seeded_and_hits_every_service_five_times() -> None:
    one, two = chaos.plan(7, sigterm=False), chaos.plan(7, sigterm=False)
    assert [(e.kind, e.target, e.at) for e in one] == [(e.kind, e.target, e.at) for e in two]
    assert [e.at for e in chaos.plan(8, sigterm=False)] != [e.at for e in one]
    for service in ("fetcher", "cleaner", "enricher", "dedup"):
        assert sum(1 for e in one if e.kind == "kill" and e.target == service) == 5
    assert {e.kind for e in one if e.target == "broker"} == {"pause", "broker_kill"}
    pause = next(e for e in one if e.kind == "pause")
    crash = next(e for e in one if e.kind == "broker_kill")
    assert pause.at < crash.at
    assert all(0 < e.at < 1 for e in one)
    terms = chaos.plan(7, sigterm=True)
    assert sorted(e.target for e in terms) == ["cleaner", "dedup", "enricher", "fetcher"]
    assert {e.kind for e in terms} == {"term"}


# ---------------------------------------------------------------- corpus and site

VOCABULARY = (
    "council budget river harbour election minister storm vaccine school railway bridge "
    "festival court strike museum forest drought airport factory senator treaty market "
    "hospital police bank farmer rocket island mayor library reservoir coalition tariff "
    "orchestra glacier pipeline stadium refinery ferry census vineyard satellite"
)


def distinct_text(rng: random.Random, n: int = 90) -> str:
    """Sentences of words in a random order: no two pages look alike to dedup."""
    words = VOCABULARY.split()
    drawn = [rng.choice(words) for _ in range(n)]
    return " ".join(" ".join(drawn[i : i + 9]).capitalize() + "." for i in range(0, n, 9))


def tiny_datasets(root: Path, n: int = 3) -> Path:
    """A datasets folder shaped like ../shared/datasets, with made-up pages."""
    rng = random.Random(n)
    aeb = root / "article-extraction-benchmark"
    (aeb / "html").mkdir(parents=True)
    gold = {}
    for i in range(n):
        body = distinct_text(rng)
        page = f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
        page += "".join(f"<p>{s}.</p>" for s in body.split(". ")) + "</article></body></html>"
        (aeb / "html" / f"k{i}.html.gz").write_bytes(gzip.compress(page.encode()))
        gold[f"k{i}"] = {"articleBody": body, "url": f"https://example.com/{i}"}
    (aeb / "ground-truth.json").write_text(json.dumps(gold))
    traf = root / "trafilatura-eval-dev" / "html"
    traf.mkdir(parents=True)
    for i in range(n):
        page = f"<html><head><title>Blog {i}</title></head><body><main>"
        page += f"<p>{distinct_text(rng)}</p></main></body></html>"
        (traf / f"t{i}.html.gz").write_bytes(gzip.compress(page.encode()))
    ecb = root / "ecbplus-dev"
    ecb.mkdir()
    rows = [{"id": f"e{i}", "title": None, "text": distinct_text(rng)} for i in range(n)]
    rows.append(dict(rows[0], id="same-text"))  # not distinct: left out
    (ecb / "articles.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def test_corpus_copies_are_on_other_hosts_with_known_originals(tmp_path: Path) -> None:
    docs = corpus.load_docs(tiny_datasets(tmp_path, n=4))
    assert len(docs) == 12
    assert {d.key.split("/")[0] for d in docs} == {"aeb", "traf", "ecb"}
    pages = corpus.build_site(docs, seed=3, copies=4, hosts=5)
    assert pages == corpus.build_site(docs, seed=3, copies=4, hosts=5)
    by_place = {(p.host, p.path): p for p in pages}
    copies = [p for p in pages if p.original is not None]
    assert len(copies) == 4 and len(pages) == 16
    assert {p.kind for p in copies} == {"exact_copy", "framed_copy"}
    for page in copies:
        orig = by_place[page.original]  # type: ignore[index]
        assert page.host != orig.host and orig.kind == "original"
        if page.kind == "exact_copy":
            assert page.body == orig.body
        else:
            assert page.body != orig.body and b"Syndicated Wire" in page.body
    truth = corpus.ground_truth(pages, 8080)
    assert len(truth.ids) == 16 and len(truth.copies) == 4
    assert all(c.copy in truth.ids and c.original in truth.ids for c in truth.copies)


def test_corpus_dates_reach_past_the_retention_window(tmp_path: Path) -> None:
    docs = corpus.load_docs(tiny_datasets(tmp_path, n=20))
    pages = corpus.build_site(docs, seed=1)
    old = [p for p in pages if (corpus.NEWEST - p.published).days > 30]
    assert 0.2 * len(pages) < len(old) < 0.6 * len(pages)


def test_site_serves_feeds_pages_and_robots(tmp_path: Path) -> None:
    docs = corpus.load_docs(tiny_datasets(tmp_path))
    pages = corpus.build_site(docs, seed=2, copies=2, hosts=3)
    hosts = sorted({p.host for p in pages})
    port = corpus.free_common_port(hosts)
    site = corpus.SiteServer(hosts, port, corpus.static_resolver(pages, port)).start()
    try:
        listed = set()
        for host in hosts:
            with urllib.request.urlopen(f"http://{host}:{port}/feed.xml", timeout=10) as resp:
                feed = feedparser.parse(resp.read())
            for item in feed.entries:
                assert item.guid == item.link and item.published_parsed is not None
                assert item.link.startswith(f"http://{host}:{port}/")
                listed.add(item.link)
        assert listed == {p.url(port) for p in pages}
        page = pages[-1]
        with urllib.request.urlopen(page.url(port), timeout=10) as resp:
            assert resp.read() == page.body
        with urllib.request.urlopen(f"http://{hosts[0]}:{port}/robots.txt", timeout=10) as resp:
            assert b"Allow: /" in resp.read()
        assert site.page_requests() == {f"{page.host}{page.path}": 1}
    finally:
        site.stop()


# ---------------------------------------------------------------- soak series


def test_slope_and_series_summary() -> None:
    flat = [(t * 60.0, 500.0) for t in range(10)]
    rising = [(t * 60.0, 500.0 + t) for t in range(10)]  # 1 MB a minute
    assert soak.slope_per_hour(flat) == 0.0
    assert soak.slope_per_hour(rising) == pytest.approx(60.0)
    got = soak.summarize_series([(0.0, 900.0), *rising[1:]], warm_up_s=60.0)
    assert got["start"] == 501.0 and got["end"] == 509.0 and got["peak"] == 900.0
    assert soak.is_flat(got, "rss_mb")
    leak = soak.summarize_series([(t * 60.0, 500.0 + 10 * t) for t in range(10)], 0.0)
    assert not soak.is_flat(leak, "rss_mb")
    assert soak.is_flat(soak.summarize_series([(0, 30.0), (60, 40.0)], 0.0), "asyncio_tasks")
    assert not soak.is_flat(soak.summarize_series([(0, 30.0), (60, 80.0)], 0.0), "asyncio_tasks")


def test_live_site_publishes_at_its_rate(tmp_path: Path) -> None:
    docs = corpus.load_docs(tiny_datasets(tmp_path))
    hosts = [corpus.host_name(i) for i in range(3)]
    live = soak.LiveSite(docs, hosts, 8080, rate=1.0)
    live.started -= 7.5  # seven items out: 0..6, round-robin over three hosts
    resolve = live.resolver()
    feed = feedparser.parse(resolve(hosts[1], "/feed.xml")[0])  # type: ignore[index]
    assert [e.link for e in feed.entries] == [live.url(k) for k in (4, 1)]
    assert resolve(hosts[1], "/live/0000004.html") is not None
    assert resolve(hosts[1], "/live/0000007.html") is None  # not yet published
    assert resolve(hosts[0], "/live/0000004.html") is None  # another host's
    assert live.stop_publishing() == 7
    live.started -= 100
    assert live.released() == 7 and len(live.ids(7)) == 7


def test_metric_value_sums_samples() -> None:
    text = "# HELP x\nnewswire_asyncio_tasks 12.0\nnewswire_asyncio_tasks_other 3\n"
    assert harness.metric_value(text, "newswire_asyncio_tasks") == 12.0
    labelled = 'newswire_lag{stage="a"} 2\nnewswire_lag{stage="b"} 3'
    assert harness.metric_value(labelled, "newswire_lag") == 5.0
    assert harness.metric_value(text, "newswire_missing") is None
