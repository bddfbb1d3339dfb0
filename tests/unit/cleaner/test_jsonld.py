"""services/cleaner/jsonld.py: schema.org JSON-LD read as pages write it, in an @graph with
references, as a list of documents of several types, broken (repaired or skipped)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.cleaner import jsonld
from services.cleaner.extract import extract_html
from tests.unit.cleaner.metapages import META, ld, page


def test_graph_with_references_is_resolved() -> None:
    graph = """{"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "@id": "https://example.org/#site", "name": "Graph Site"},
      {"@type": "Person", "@id": "https://example.org/#p1", "name": "Grace Hopper"},
      {"@type": ["BlogPosting"], "headline": "Graph Headline",
       "author": {"@id": "https://example.org/#p1"},
       "image": ["https://example.org/a.jpg", "https://example.org/b.jpg"],
       "datePublished": "2022-03-04"}
    ]}"""
    r = extract_html(page(ld(graph)))
    assert (r.title, r.authors, r.site) == ("Graph Headline", ["Grace Hopper"], "Graph Site")
    assert r.published == datetime(2022, 3, 4, tzinfo=UTC)
    assert r.top_image == "https://example.org/a.jpg"


def test_list_of_documents_and_non_article_types() -> None:
    docs = (
        '[{"@type": "BreadcrumbList", "name": "Crumbs"},'
        ' {"@type": "ReportageNewsArticle", "headline": "Report", "author": "Kim Lee"}]'
    )
    r = extract_html(page(ld(docs)))
    assert (r.title, r.authors) == ("Report", ["Kim Lee"])


def test_broken_json_ld_is_repaired_or_skipped() -> None:
    repairable = '<!-- {"@type": "Article", "headline": "Fixed\nHeadline", "author": "A B",} -->'
    r = extract_html(page(META + ld(repairable)))
    assert r.title == "Fixed Headline" and r.sources["title"] == "json-ld"
    r = extract_html(page(META + ld('{"@type": "Article", "headline": ')))
    assert r.title == "Meta Title" and r.sources["title"] == "meta"
    assert jsonld.loads("{{{") is None
    assert jsonld.loads("[" * 100_000) is None
