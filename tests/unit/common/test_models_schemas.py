"""The topic contracts: schema files agree with the models, and decoding fails clearly."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from services.common.errors import DecodeError, SchemaError
from services.common.models import TOPIC_MODELS, Article, Entry, Page, decode, encode
from services.common.schemagen import SCHEMA_DIR, render
from services.common.settings import PROJECT_ROOT
from services.common.topics import ALL_TOPICS
from tests.conftest import validate_record


@pytest.mark.parametrize("filename", sorted(TOPIC_MODELS))
def test_schema_file_matches_model(filename: str) -> None:
    on_disk = (SCHEMA_DIR / filename).read_text()
    assert on_disk == render(filename), f"schemas/{filename} is stale: run `make schemas`"
    schema = json.loads(on_disk)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_topic_has_a_schema_file_and_a_readme_row() -> None:
    readme = (PROJECT_ROOT / "schemas" / "README.md").read_text()
    for spec in ALL_TOPICS:
        assert (SCHEMA_DIR / spec.schema).exists(), spec.schema
        row = next((ln for ln in readme.splitlines() if ln.startswith(f"| `{spec.name}` |")), None)
        assert row is not None, f"schemas/README.md has no row for {spec.name}"
        assert spec.schema in row
        assert ("compact" in row) == spec.compacted


def test_model_output_validates_against_its_schema() -> None:
    entry = Entry(entry_id="g1", feed_url="http://f/x.xml", link="http://f/a")
    page = Page(
        article_id="a",
        url="http://f/a",
        final_url="http://f/a",
        status=200,
        content_type="text/html",
        body="<p>x</p>",
        body_bytes=8,
        entry=entry,
    )
    validate_record("newswire.entries", json.loads(encode(entry)))
    validate_record("newswire.pages", json.loads(encode(page)))
    with pytest.raises(AssertionError):
        validate_record("newswire.pages", {**json.loads(encode(page)), "status": "ok"})


def test_decode_tells_garbage_from_wrong_shape() -> None:
    with pytest.raises(DecodeError) as garbage:
        decode(Article, b"\x00\xffnot json")
    assert garbage.value.reason == "decode"
    with pytest.raises(SchemaError) as shape:
        decode(Article, b'{"id": "a"}')
    assert shape.value.reason == "schema"
    assert re.search(r"Article invalid at (url|text|paragraphs)", str(shape.value))
    with pytest.raises(DecodeError):
        decode(Article, None)
