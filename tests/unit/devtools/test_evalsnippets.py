"""trafilatura's snippet metric, lost articles, and the two-dataset eval command."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from services.devtools import evalextract, evalsnippets, scoring
from services.devtools.scoring import SnippetCounts, is_lost, snippets
from tests.unit.devtools.test_scoring import ARTICLE, ARTICLE_HTML, EMPTY_HTML


def test_snippets_are_whitespace_normalised_case_sensitive_substrings() -> None:
    text = "The  city council\napproved the budget.\n\nHome | News"
    c = snippets(text, ["city council approved", "The city", "the City"], ["Home | News", "About"])
    assert c == SnippetCounts(tp=2, fn=1, fp=1, tn=1)
    # No text: every `with` snippet missed, no `without` snippet found.
    assert snippets("", ["a b"], ["c"]) == SnippetCounts(tp=0, fn=1, fp=0, tn=1)
    total = scoring.snippet_totals([c, SnippetCounts(1, 0, 0, 1)])
    assert (total.tp, total.fn, total.fp, total.tn) == (3, 1, 1, 2)
    assert total.precision == pytest.approx(3 / 4) and total.recall == pytest.approx(3 / 4)
    assert total.f1 == pytest.approx(3 / 4)


def test_lost_means_under_30_percent_of_at_least_500_characters() -> None:
    assert is_lost("", "x" * 500)
    assert is_lost("x" * 149, "x" * 500)
    assert not is_lost("x" * 150, "x" * 500)
    assert not is_lost("", "x" * 499)


@pytest.fixture
def snippet_dataset(tmp_path: Path) -> Path:
    root = tmp_path / "trafilatura-eval-dev"
    (root / "html").mkdir(parents=True)
    # Latin-1 bytes declared in a <meta>: decoded as a browser would, not as UTF-8.
    latin = ARTICLE_HTML.replace("<head>", "<head><meta charset='iso-8859-1'>").replace(
        "Tuesday", "Dienstag über"
    )
    (root / "html" / "a.html.gz").write_bytes(gzip.compress(latin.encode("latin-1")))
    (root / "html" / "b.html.gz").write_bytes(gzip.compress(EMPTY_HTML.encode()))
    data = {
        "k:a": {
            "file": "a.html.gz",
            "with": ["approved the new budget on Dienstag über", ARTICLE[1][:60]],
            "without": ["Copyright Example Gazette"],
        },
        "k:b": {"file": "b.html.gz", "with": ["Text nobody finds"], "without": ["Home"]},
    }
    (root / "evaldata.json").write_text(json.dumps(data))
    return root


def test_evaluate_counts_snippets_and_lost_articles(snippet_dataset: Path) -> None:
    docs = evalsnippets.load_dataset(snippet_dataset)
    assert [d.id for d in docs] == ["k:a", "k:b"] and "Dienstag über" in docs[0].html
    whole = "\n".join(ARTICLE).replace("Tuesday", "Dienstag über") + " " + "filler " * 100
    report = evalsnippets.evaluate(
        snippet_dataset,
        {"newswire": lambda html: "", "trafilatura": lambda html: whole},
    )
    summary = report["summary"]
    assert summary["newswire"]["recall"] == 0.0 and summary["trafilatura"][
        "recall"
    ] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["lost_articles"] == 2  # newswire empty where trafilatura has 500+ chars
    assert [w["id"] for w in report["worst"]] == ["k:a"]
    rows = {r["id"]: r for r in report["documents"]}
    assert rows["k:a"]["trafilatura"]["tp"] == 2 and rows["k:b"]["trafilatura"]["fn"] == 1


def test_main_scores_both_datasets_in_one_run(
    snippet_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = tmp_path / "article-extraction-benchmark"
    (bench / "html").mkdir(parents=True)
    (bench / "html" / "a1.html.gz").write_bytes(gzip.compress(ARTICLE_HTML.encode()))
    truth = {"a1": {"articleBody": "\n".join(ARTICLE), "url": "https://news.example/a1"}}
    (bench / "ground-truth.json").write_text(json.dumps(truth))
    out = tmp_path / "results" / "eval-extract.json"
    assert evalextract.main([str(tmp_path), "--out", str(out), "--passes", "1"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(last) == {"article-extraction-benchmark", "trafilatura-eval-dev"}
    for figures in last.values():
        assert {"newswire", "trafilatura", "lost_articles", "f1_margin"} <= set(figures)
        assert set(figures["newswire"]) == {"precision", "recall", "f1", "docs_per_s"}
    assert last["trafilatura-eval-dev"]["newswire"]["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert last["trafilatura-eval-dev"]["lost_articles"] == 0
    full = json.loads(out.read_text())
    assert [r["id"] for r in full["trafilatura-eval-dev"]["documents"]] == ["k:a", "k:b"]
