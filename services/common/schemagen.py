"""Generate the JSON Schema 2020-12 contract of each topic from its model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.common.models import TOPIC_MODELS
from services.common.settings import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(filename: str) -> dict[str, Any]:
    model = TOPIC_MODELS[filename]
    body = model.model_json_schema(mode="serialization", ref_template="#/$defs/{model}")
    return {
        "$schema": DIALECT,
        "$id": f"https://newswire.dev/schemas/{filename}",
        **body,
    }


def render(filename: str) -> str:
    return json.dumps(schema_for(filename), indent=2, sort_keys=True) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for filename in TOPIC_MODELS:
        path = directory / filename
        path.write_text(render(filename))
        written.append(path)
    return written
