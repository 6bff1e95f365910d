"""The building blocks of case models: vocabulary-checked id fields, normalisers, ICD-10-CM code handling.

Ids are checked against the vocabulary passed in the validation context (``{"vocabulary": ...}``),
so another knowledge base (``--rules``) brings its own terms; the JSON Schema marks each id
field with its vocabulary section so :func:`~medmassage_rules.cases.schema.case_schema` can list
the ids.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from ..intake import codes as icd
from ..intake.medications import is_atc
from ..kb.vocabulary import Vocabulary

BLOOD_PRESSURE = "blood_pressure"
MAX_DAYS = 36_500  # a hundred years: bounds every day count (a huge integer would only break formatting)
MAX_IDS = 100  # the most ids one list field of a case may hold
UNION_TAGS = frozenset({"id", "object"})  # the tags of an id-or-object list entry (see :func:`id_or_object`)


def vocabulary_of(info: ValidationInfo) -> Vocabulary:
    """The vocabulary of the validation context."""
    return info.context["vocabulary"]  # type: ignore[index]


def context_vocabulary(info: ValidationInfo) -> Vocabulary | None:
    """The vocabulary of the validation context, or None when the model is validated without one."""
    context = info.context if isinstance(info.context, dict) else {}
    vocab = context.get("vocabulary")
    return vocab if isinstance(vocab, Vocabulary) else None


def _suggest(value: str, choices: Any) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def id_choices(vocab: Vocabulary, kind: str) -> Any:
    """The ids of vocabulary section ``kind`` (a few kinds join sections: ``sites``, ``clearance_scopes`` ...)."""
    if kind == "sites":
        return {**vocab.targets, **vocab.areas}
    if kind == "medications":
        return {**vocab.medications, **{c: c for c in vocab.medication_classes}}
    if kind == "clearance_scopes":  # what a clearance object may be `for` (one list: Vocabulary.clearance_scopes)
        return set(vocab.clearance_scopes)
    return getattr(vocab, kind)


@dataclass(frozen=True)
class InVocabulary:
    """Annotation: the string must be an id of the vocabulary section ``kind``.

    Validation reads the vocabulary from the validation context (so ``--rules`` brings its
    own terms); the JSON Schema marks the field so the case schema can list the ids.
    """

    kind: str
    label: str

    def check(self, value: str, info: ValidationInfo) -> str:
        choices = id_choices(vocabulary_of(info), self.kind)
        if value not in choices:
            raise PydanticCustomError("unknown_id", "unknown {label} id{hint}",
                                      {"label": self.label, "hint": _suggest(value, choices)})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["x-vocabulary"] = self.kind
        return json_schema


def lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def as_list(value: Any) -> Any:
    """One id given where a list may be: the list of it."""
    return [value] if isinstance(value, str) else value


def id_or_object(value: Any) -> str:
    """The union tag of a list entry that is an id (v1) or an object (v2); one of :data:`UNION_TAGS`."""
    return "object" if isinstance(value, dict) else "id"


def calendar_date(value: Any) -> Any:
    """A date written YYYY-MM-DD (YAML reads it as a date already; JSON gives the text)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) != 10:
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError:
            raise PydanticCustomError("date", "not a date: write it YYYY-MM-DD") from None
    if isinstance(value, datetime):
        raise PydanticCustomError("date", "a date without a time: write it YYYY-MM-DD")
    return value


def atc_code(value: str) -> str:
    if not is_atc(value):
        raise PydanticCustomError("atc", "not an ATC code (a letter, two digits, then up to two letters "
                                  "and two digits, e.g. B01AF02)")
    return value


ConditionId = Annotated[str, InVocabulary("conditions", "condition")]
FindingId = Annotated[str, InVocabulary("findings", "finding")]
HistoryId = Annotated[str, InVocabulary("history", "history item")]
AreaId = Annotated[str, InVocabulary("areas", "area")]
SiteId = Annotated[str, InVocabulary("sites", "target or area")]
SideId = Annotated[str, InVocabulary("sides", "side")]
AcuityId = Annotated[str, InVocabulary("acuities", "acuity")]
SeverityId = Annotated[str, InVocabulary("severities", "severity")]
ModalityId = Annotated[str, InVocabulary("modalities", "modality")]
ClearanceId = Annotated[str, InVocabulary("clearances", "clearance")]
StatusId = Annotated[str, InVocabulary("statuses", "status")]
PressureId = Annotated[str, InVocabulary("pressures", "pressure")]
ReferralId = Annotated[str, InVocabulary("referrals", "referral")]
MedicationId = Annotated[str, InVocabulary("medications", "medication or medication class"), BeforeValidator(lower)]
MedicationClassId = Annotated[str, InVocabulary("medication_classes", "medication class"), BeforeValidator(lower)]
MedicationName = Annotated[str, BeforeValidator(lower), Field(min_length=1, max_length=200)]
ClearanceScopeId = Annotated[str, InVocabulary("clearance_scopes",
                                                "condition, finding or history id, blood_pressure or joint")]
Icd10Text = Annotated[str, Field(min_length=1, max_length=16)]
Minutes = Annotated[int, Field(ge=0, le=600)]


class StrictModel(BaseModel):
    """A part of a case: unknown fields refused, no type coercion, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def icd10_code(raw: str) -> icd.Code:
    """The ICD-10-CM code a case gives, or the error naming it (with the closest valid codes)."""
    index = icd.load_index()
    code = index.get(raw)
    if code is None:
        raise PydanticCustomError("icd10_invalid", "not a valid ICD-10-CM code{hint}",
                                  {"hint": icd10_hint(raw), "field": "icd10"})
    return code


def icd10_hint(raw: str) -> str:
    """"; did you mean ..." with the valid codes closest to ``raw``, or nothing."""
    close = icd.load_index().suggest(raw) if icd.is_code_shaped(raw) or len(raw) <= 16 else []
    same = raw.replace(".", "").strip().upper()
    close = [c for c in close if c.replace(".", "").upper() != same]  # never the very text that was refused
    return f"; did you mean {', '.join(close)}?" if close else ""


def fill_from_code(data: Any, term_key: str) -> Any:
    """Fill a diagnosis' condition (or a history entry's item), side and fixed attributes from its code.

    A given condition, item or side that contradicts the code is refused; a code the map does
    not cover leaves a given condition or item as it is.
    """
    if not isinstance(data, dict) or not isinstance(data.get("icd10"), str):
        return data
    code = icd10_code(data["icd10"])
    data = {**data, "icd10": code.code}
    code_map = icd.load_code_map()
    mapped = code_map.condition(code) if term_key == "condition" else code_map.history_item(code)
    if mapped is not None:
        given = data.get(term_key)
        if given is not None and given != mapped.term:
            raise PydanticCustomError(
                "icd10_contradiction", "contradicts icd10 {code} ({description}), which is {term}",
                {"code": code.code, "description": code.description, "term": mapped.term, "field": term_key})
        data[term_key] = mapped.term
        for key, value in mapped.attributes.items():
            data.setdefault(key, value)  # what the case itself says wins (the map names a region, the case the site)
        weeks = icd.gestation_weeks(code)
        if weeks is not None and mapped.term == "pregnancy":
            data.setdefault("weeks", weeks)
    if code.side is not None and term_key in data:
        given = data.get("side")
        if given is not None and given != code.side:
            raise PydanticCustomError(
                "icd10_contradiction", "contradicts icd10 {code} ({description}), which is {side}",
                {"code": code.code, "description": code.description, "side": code.side, "field": "side"})
        data["side"] = code.side
    return data
