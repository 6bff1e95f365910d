"""The JSON Schema of case files (``medmassage schema``), generated from the case models."""

from __future__ import annotations

from typing import Any

from ..kb.vocabulary import Vocabulary
from .fields import id_choices
from .models import Case


def case_schema(vocab: Vocabulary) -> dict[str, Any]:
    """The JSON Schema of case files, from the case models with the vocabulary's ids."""
    schema = Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "medmassage-rules case file (contract v1)"

    def fill(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.pop("x-vocabulary", None)
            if kind is not None:
                node["enum"] = sorted(id_choices(vocab, kind))
            for value in node.values():
                fill(value)
        elif isinstance(node, list):
            for value in node:
                fill(value)

    fill(schema)
    # a diagnosis may give its ICD-10-CM code instead of the condition, a history entry instead of the item
    for model, term in (("Diagnosis", "condition"), ("HistoryItem", "item")):
        node = schema.get("$defs", {}).get(model)
        if node is not None and term in node.get("required", ()):
            node["required"] = [r for r in node["required"] if r != term]
            node["anyOf"] = [{"required": [term]}, {"required": ["icd10"]}]
    return schema
