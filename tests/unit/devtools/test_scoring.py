"""The benchmark's scoring on hand-made texts, and the eval command on a 2-page dataset."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from services.common.errors import NoContentError
from services.devtools import evalextract, scoring
from services.devtools.evalrun import ExpectedEmpty
from services.devtools.scoring import Match, aggregate, match, shingles, unmatched_spans

GOLD8 = "one two three four five six seven eight"  # 8 tokens: 5 shingles


def test_tokens_are_word_runs_and_keep_case() -> None:
    assert scoring.tokenize("It's 2019 — Ça va? e-mail_x") == [
        "It",
        "s",
        "2019",
        "Ça",
        "va",
        "e",
        "mail_x",
    ]
    assert scoring.tokenize(None) == []


def test_shingles_are_a_multiset_of_four_token_runs() -> None:
    assert shingles("a b c d a b c d") == {
        ("a", "b", "c", "d"): 2,
        ("b", "c", "d", "a"): 1,
        ("c", "d", "a", "b"): 1,
        ("d", "a", "b", "c"): 1,
    }
    # Fewer than four tokens: one short shingle, as evaluate.py's _ngrams makes it.
    assert shingles("Breaking news") == {("Breaking", "news"): 1}
    assert shingles(" ... ") == {}


def test_perfect_prediction() -> None:
    m = match(GOLD8, GOLD8.replace(" ", ",\n  "))  # punctuation and layout do not matter
    assert (m.tp, m.fp, m.fn) == (1.0, 0.0, 0.0)
    assert (m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0)


def test_empty_prediction_costs_recall_only() -> None:
    m = match(GOLD8, "")
    assert (m.tp, m.fp, m.fn) == (0.0, 0.0, 1.0)
    assert m.precision is None  # left out of the precision mean
    assert m.recall == 0.0 and m.f1 == 0.0
    assert match(GOLD8, None) == m


def test_empty_gold_costs_precision_only_and_both_empty_is_neutral() -> None:
    m = match("", "Subscribe now")
    assert (m.tp, m.fp, m.fn) == (0.0, 1.0, 0.0)
    assert m.precision == 0.0 and m.recall is None
    both = match("", "")
    assert (both.tp, both.fp, both.fn) == (0.0, 0.0, 0.0)
    assert both.precision is None and both.recall is None and both.f1 == 1.0


def test_partial_prediction_missing_the_end() -> None:
    # 6 of the 8 gold tokens: 3 predicted shingles, all gold; 2 gold shingles missed.
    m = match(GOLD8, "one two three four five six")
    assert m.tp == pytest.approx(3 / 5) and m.fp == 0.0 and m.fn == pytest.approx(2 / 5)
    assert m.precision == pytest.approx(1.0)
    assert m.recall == pytest.approx(3 / 5)
    assert m.f1 == pytest.approx(0.75)


def test_partial_prediction_with_cruft_around_it() -> None:
    # Shingles: "Home one two three", 5 gold ones, "six seven eight Share": tp 5, fp 2, fn 0.
    m = match(GOLD8, "Home\n" + GOLD8 + "\nShare")
    assert (m.tp, m.fp, m.fn) == pytest.approx((5 / 7, 2 / 7, 0.0))
    assert m.precision == pytest.approx(5 / 7)
    assert m.recall == pytest.approx(1.0)
    assert m.f1 == pytest.approx(2 * 5 / (2 * 5 + 2))


def test_overlap_counts_repeats_as_a_multiset() -> None:
    # Gold has "a b c d" twice (5 shingles), the prediction once: tp 1, fn 4, not 1 and 3.
    m = match("a b c d a b c d", "a b c d")
    assert (m.tp, m.fp, m.fn) == pytest.approx((1 / 5, 0.0, 4 / 5))
    assert m.recall == pytest.approx(1 / 5)


def test_scoring_is_case_sensitive_like_the_benchmark() -> None:
    # "The cat sat on" != "the cat sat on": tp 2, fp 1, fn 1.
    m = match("The cat sat on the mat", "the cat sat on the mat")
    assert (m.tp, m.fp, m.fn) == pytest.approx((0.5, 0.25, 0.25))
    assert m.precision == pytest.approx(2 / 3)


def test_short_texts_compare_whole() -> None:
    assert match("Breaking news", "Breaking news").f1 == 1.0
    assert match("Breaking news", "Breaking news today").f1 == 0.0


def test_aggregate_averages_each_measure_where_it_is_defined() -> None:
    perfect = Match(1.0, 0.0, 0.0)
    empty = Match(0.0, 0.0, 1.0)  # nothing predicted: recall 0, no precision
    partial = Match(0.6, 0.0, 0.4)  # precision 1, recall 0.6
    nothing = Match(0.0, 0.0, 0.0)  # both empty: in neither mean
    totals = aggregate([perfect, empty, partial, nothing])
    assert totals.precision == pytest.approx(1.0)
    assert totals.recall == pytest.approx((1.0 + 0.0 + 0.6) / 3)
    # F1 of the two means, not the mean of per-document F1s ((1 + 0 + 0.75 + 1) / 4).
    recall = 1.6 / 3
    assert totals.f1 == pytest.approx(2 * recall / (1 + recall))
    assert (totals.docs, totals.precision_docs, totals.recall_docs) == (4, 2, 3)


def test_aggregate_of_no_predictions_is_zero() -> None:
    totals = aggregate([Match(0.0, 0.0, 1.0)])
    assert (totals.precision, totals.recall, totals.f1) == (0.0, 0.0, 0.0)
    assert aggregate([]).docs == 0


def test_unmatched_spans_name_the_cruft_and_the_missing_text() -> None:
    gold = "one two three four five six seven eight. A closing line nobody extracted."
    pred = "Menu Home. One two three four five six seven eight, Share on Facebook!"
    # Case counts: "One two three four" is not gold, so "One" joins the cruft before it.
    assert unmatched_spans(pred, gold) == ["Menu Home. One", "Share on Facebook"]
    # Gold's lone "one" is a single token: below min_tokens, not reported.
    assert unmatched_spans(gold, pred) == ["A closing line nobody extracted"]
    # A second copy of a paragraph is extra (multiset), a one-token slip is ignored.
    twice = "one two three four five\n\none two three four five"
    assert unmatched_spans(twice, "one two three four five") == ["one two three four five"]
    assert unmatched_spans("a b c d x f g h i", "a b c d e f g h i") == []
    assert unmatched_spans("a b c d x f g h i", "a b c d e f g h i", min_tokens=1) == ["x"]
    assert unmatched_spans("", "a b c") == [] and unmatched_spans("Hi there", "") == ["Hi there"]


# --------------------------------------------------------------------------- the command

ARTICLE = (
    "The city council approved the new budget on Tuesday after a long debate about "
    "schools, roads and the future of the public library in the old town centre.",
    "Residents who spoke at the meeting asked for more money for buses, and the mayor "
    "promised a separate vote on transport before the end of the year.",
    "The budget takes effect in January. Opponents said they would keep campaigning "
    "for lower taxes and fewer new projects during the next council term.",
)
ARTICLE_HTML = (
    "<html><head><title>Council approves budget</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
    "<article><h1>Council approves budget</h1>"
    + "".join(f"<p>{p}</p>" for p in ARTICLE)
    + "</article><footer>Copyright Example Gazette</footer></body></html>"
)
EMPTY_HTML = "<html><body><nav><a href='/'>Home</a></nav></body></html>"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "bench"
    (root / "html").mkdir(parents=True)
    for doc_id, html in (("a1", ARTICLE_HTML), ("b2", EMPTY_HTML)):
        (root / "html" / f"{doc_id}.html.gz").write_bytes(gzip.compress(html.encode()))
    truth = {
        "a1": {"articleBody": "\n".join(ARTICLE), "url": "https://news.example/a1"},
        "b2": {
            "articleBody": "Text that no extractor can find here.",
            "url": "https://x.example/b",
        },
    }
    (root / "ground-truth.json").write_text(json.dumps(truth))
    return root


def test_load_dataset_decodes_pages_in_id_order(dataset: Path) -> None:
    (dataset / "html" / "b2.html.gz").write_bytes(gzip.compress(b"<p>caf\xc3\xa9 \xff</p>"))
    docs = evalextract.load_dataset(dataset)
    assert [d.id for d in docs] == ["a1", "b2"]
    assert docs[0].url == "https://news.example/a1" and docs[0].html == ARTICLE_HTML
    assert docs[1].html == "<p>café \ufffd</p>"  # bad bytes replaced, not fatal
    (dataset / "html" / "a1.html.gz").unlink()
    with pytest.raises(FileNotFoundError):
        evalextract.load_dataset(dataset)


def test_evaluate_scores_given_extractors(dataset: Path) -> None:
    gold = "\n".join(ARTICLE)

    def perfect_or_nothing(html: str) -> str:
        if html == EMPTY_HTML:
            raise ExpectedEmpty("NoContentError: nothing")
        return gold

    def with_cruft(html: str) -> str:
        return "Home News\n" + gold if html == ARTICLE_HTML else "Home"

    def crashing(html: str) -> str:
        raise RuntimeError("boom")

    report = evalextract.evaluate(
        dataset,
        extractors={"newswire": perfect_or_nothing, "trafilatura": with_cruft, "x": crashing},
        passes=2,
    )
    summary, totals = report["summary"], report["totals"]
    assert summary["docs"] == 2
    # newswire: a1 perfect, b2 empty -> precision over a1 only, recall (1 + 0) / 2.
    assert summary["newswire"]["precision"] == 1.0
    assert summary["newswire"]["recall"] == 0.5
    assert summary["newswire"]["f1"] == pytest.approx(2 * 0.5 / 1.5, abs=1e-4)
    assert totals["newswire"]["errors"] == 1 and totals["newswire"]["empty"] == 1
    assert len(totals["newswire"]["pass_seconds"]) == 2
    assert len(totals["newswire"]["pass_cpu_seconds"]) == 2
    assert summary["newswire"]["docs_per_s"] > 0 and summary["speed_ratio"] > 0
    # trafilatura stand-in: b2's "Home" is all false positive (p 0, r 0); a1 has 3 extra
    # shingles ("Home News The city", ...) and misses nothing.
    a1 = scoring.match(gold, "Home News\n" + gold)
    assert a1.fp > 0 and a1.recall == 1.0
    assert summary["trafilatura"]["precision"] == pytest.approx((a1.precision or 0) / 2, abs=1e-4)
    assert summary["trafilatura"]["recall"] == 0.5
    assert totals["x"]["crashes"] == 2 and report["crashes"]["x"]["a1"] == "RuntimeError: boom"
    assert summary["x"]["f1"] == 0.0

    rows = {row["id"]: row for row in report["documents"]}
    assert rows["b2"]["newswire"] == {
        "p": None,
        "r": 0.0,
        "f1": 0.0,
        "chars": 0,
        "error": "NoContentError: nothing",
    }
    assert rows["a1"]["newswire"]["f1"] == 1.0
    worst = report["worst"]
    assert [w["id"] for w in worst] == ["b2", "a1"]
    assert worst[0]["vs"]["trafilatura"] == {"f1": 0.0, "diff": 0.0}
    assert worst[0]["missing"] == ["Text that no extractor can find here"]
    assert (worst[0]["missing_tokens"], worst[0]["extra_tokens"]) == (7, 0)
    assert worst[1]["extra"] == [] and worst[1]["missing"] == []
    assert worst[1]["vs"]["trafilatura"]["diff"] == pytest.approx(1.0 - a1.f1, abs=1e-4)
    assert report["nondeterministic"] == {}


def test_newswire_extractor_turns_no_content_into_an_empty_prediction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def nothing(body: str, content_type: str, *, max_chars: int) -> object:
        assert content_type == "text/html" and max_chars >= 10**8
        raise NoContentError("trafilatura found no main text")

    monkeypatch.setattr(evalextract, "extract", nothing)
    with pytest.raises(ExpectedEmpty, match="NoContentError"):
        evalextract.newswire("<html></html>")


def test_main_runs_the_real_extractors_and_ends_with_one_json_line(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "eval-extract.json"
    assert evalextract.main([str(dataset), "--out", str(out), "--passes", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    last = json.loads(lines[-1])
    assert last["docs"] == 2
    for name in ("newswire", "trafilatura", "trafilatura_precision"):
        assert set(last[name]) == {"precision", "recall", "f1", "docs_per_s"}, name
        # Every extractor finds the article and nothing on the navigation-only page.
        assert last[name]["recall"] == pytest.approx(0.5, abs=0.05), name
    assert last["speed_ratio"] > 0
    full = json.loads(out.read_text())
    assert [row["id"] for row in full["documents"]] == ["a1", "b2"]
    assert full["documents"][0]["newswire"]["f1"] > 0.95
    assert full["documents"][1]["newswire"]["chars"] == 0
    assert [w["id"] for w in full["worst"]] == ["b2", "a1"]
    assert any("worst 2 documents" in line for line in lines)
