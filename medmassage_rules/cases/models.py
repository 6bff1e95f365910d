"""Case files: validation against the vocabulary and normalisation into case data.

The pydantic models below are the single definition of a case file: they validate it
(collecting every problem), normalise it (acuity from onset_days, medication names to
classes, a finding's area from its target, ICD-10-CM codes to conditions and history items
with their side; see docs/codes-and-medications.md) and generate the JSON Schema printed by
``medmassage schema``. Ids are checked against the vocabulary passed in the validation
context, so another knowledge base (``--rules``) brings its own terms.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from ..errors import NO_VALUE, CaseError, Problem
from ..files.reading import CASE_SUFFIXES, JSONL_SUFFIXES, iter_json_lines, parse_document, read_text
from ..intake import codes as icd
from ..intake.medications import classify, is_atc
from ..kb.vocabulary import Vocabulary

# Thresholds of contract §1.
ACUTE_MAX_DAYS = 3
SUBACUTE_MAX_DAYS = 42
ACUTE_BY_DEFAULT = ("ankle_sprain", "delayed_onset_muscle_soreness")
NEEDS_AREA = ("lymphedema", "post_surgical_edema")


def _vocabulary(info: ValidationInfo) -> Vocabulary:
    return info.context["vocabulary"]  # type: ignore[index]


def _suggest(value: str, choices: Any) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


@dataclass(frozen=True)
class InVocabulary:
    """Annotation: the string must be an id of the vocabulary section ``kind``.

    Validation reads the vocabulary from the validation context (so ``--rules`` brings its
    own terms); the JSON Schema marks the field so :func:`case_schema` can list the ids.
    """

    kind: str
    label: str

    def check(self, value: str, info: ValidationInfo) -> str:
        choices = _choices(_vocabulary(info), self.kind)
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


def _choices(vocab: Vocabulary, kind: str) -> Any:
    if kind == "sites":
        return {**vocab.targets, **vocab.areas}
    if kind == "medications":
        return {**vocab.medications, **{c: c for c in vocab.medication_classes}}
    if kind == "clearance_scopes":  # what a clearance object may be `for`
        return {*vocab.conditions, *vocab.findings, *vocab.history, BLOOD_PRESSURE}
    return getattr(vocab, kind)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


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
MedicationId = Annotated[str, InVocabulary("medications", "medication or medication class"), BeforeValidator(_lower)]
MedicationClassId = Annotated[str, InVocabulary("medication_classes", "medication class"), BeforeValidator(_lower)]
MedicationName = Annotated[str, BeforeValidator(_lower), Field(min_length=1, max_length=200)]
ClearanceScopeId = Annotated[str, InVocabulary("clearance_scopes",
                                                "condition, finding or history id, or blood_pressure")]
Icd10Text = Annotated[str, Field(min_length=1, max_length=16)]
BLOOD_PRESSURE = "blood_pressure"
Minutes = Annotated[int, Field(ge=0, le=600)]
MAX_DAYS = 36_500  # a hundred years: bounds every day count (a huge integer would only break formatting)
MAX_IDS = 100  # the most ids one list field of a case may hold


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Patient(_Strict):
    age: Annotated[int, Field(ge=0, le=120)] | None = None
    sex: str | None = None
    frail: bool | None = None


def _code(raw: str) -> icd.Code:
    """The ICD-10-CM code a case gives, or the error naming it (with the closest valid codes)."""
    index = icd.load_index()
    code = index.get(raw)
    if code is None:
        close = index.suggest(raw) if icd.is_code_shaped(raw) or len(raw) <= 16 else []
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise PydanticCustomError("icd10_invalid", "not a valid ICD-10-CM code{hint}",
                                  {"hint": hint, "field": "icd10"})
    return code


def _from_code(data: Any, term_key: str) -> Any:
    """Fill a diagnosis' condition (or a history entry's item), side and fixed attributes from its code.

    A given condition, item or side that contradicts the code is refused; a code the map does
    not cover leaves a given condition or item as it is.
    """
    if not isinstance(data, dict) or not isinstance(data.get("icd10"), str):
        return data
    code = _code(data["icd10"])
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


class Diagnosis(_Strict):
    condition: ConditionId
    side: SideId | None = None
    acuity: AcuityId | None = None
    onset_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] | None = None
    severity: SeverityId | None = None
    area: AreaId | None = None
    icd10: Icd10Text | None = None  # ICD-10-CM, normalised with its dot; fills condition and side

    @model_validator(mode="before")
    @classmethod
    def _code(cls, data: Any) -> Any:
        return _from_code(data, "condition")

    @model_validator(mode="after")
    def _area_required(self) -> Diagnosis:
        if self.condition in NEEDS_AREA and self.area is None:
            raise PydanticCustomError("missing_area", "a diagnosis of {condition} must give its area",
                                      {"condition": self.condition, "field": "area"})
        return self

    @property
    def effective_acuity(self) -> str:
        """Acuity as given; else derived from onset_days; else the condition's default."""
        if self.acuity is not None:
            return self.acuity
        if self.onset_days is not None:
            if self.onset_days <= ACUTE_MAX_DAYS:
                return "acute"
            return "subacute" if self.onset_days <= SUBACUTE_MAX_DAYS else "chronic"
        return "acute" if self.condition in ACUTE_BY_DEFAULT else "chronic"


class Finding(_Strict):
    finding: FindingId
    area: AreaId | None = None
    target: SiteId | None = None
    side: SideId | None = None

    @model_validator(mode="after")
    def _target_rules(self, info: ValidationInfo) -> Finding:
        if self.finding == "trigger_point" and self.target is None:
            raise PydanticCustomError("missing_target", "a trigger_point finding needs a target "
                                      "(the muscle holding it)", {"field": "target"})
        if self.target is not None and self.area is not None:
            target_area = _vocabulary(info).area_of(self.target)
            if target_area != self.area:
                raise PydanticCustomError("area_mismatch", "target {target} lies in area {actual}, "
                                          "not {area}", {"target": self.target, "actual": target_area,
                                                         "area": self.area, "field": "area"})
        return self

    @property
    def site(self) -> str | None:
        """The target (or area) this finding points at."""
        return self.target or self.area

    def site_area(self, vocab: Vocabulary) -> str | None:
        return self.area or (vocab.area_of(self.target) if self.target else None)


class HistoryItem(_Strict):
    item: HistoryId
    icd10: Icd10Text | None = None  # ICD-10-CM, normalised with its dot; fills item, side and the map's attributes
    area: AreaId | None = None
    side: SideId | None = None
    fragility_fracture: bool = False
    active: bool = True
    days_since: Annotated[int, Field(ge=0, le=MAX_DAYS)] | None = None
    weeks: Annotated[int, Field(ge=0, le=45)] | None = None
    high_risk: bool = False
    decompensated: bool = False

    @model_validator(mode="before")
    @classmethod
    def _code(cls, data: Any) -> Any:
        return _from_code(data, "item")


class MedicationEntry(_Strict):
    """v2: a medication given as an object - a name with its ATC code and/or its class."""

    name: MedicationName
    atc: Annotated[str, BeforeValidator(_upper), AfterValidator(_atc)] | None = None
    cls: Annotated[MedicationClassId | None, Field(alias="class")] = None


class ScopedClearance(_Strict):
    """v2: a clearance that lifts only the requirements raised by one fact (`for`)."""

    id: ClearanceId
    scope: Annotated[ClearanceScopeId, Field(alias="for")]


def _atc(value: str) -> str:
    if not is_atc(value):
        raise PydanticCustomError("atc", "not an ATC code (a letter, two digits, then up to two letters "
                                  "and two digits, e.g. B01AF02)")
    return value


def _kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else "id"


# A list entry is an id (v1) or an object (v2); the tag only picks the model that validates it.
Medication = Annotated[Annotated[MedicationName, Tag("id")] | Annotated[MedicationEntry, Tag("object")],
                       Discriminator(_kind)]
Clearance = Annotated[Annotated[ClearanceId, Tag("id")] | Annotated[ScopedClearance, Tag("object")],
                      Discriminator(_kind)]
_TAGS = {"id", "object"}


class Labs(_Strict):
    platelets_k: Annotated[float, Field(ge=0, le=5000, allow_inf_nan=False)] | None = None


class Vitals(_Strict):
    temperature_c: Annotated[float, Field(ge=25, le=45, allow_inf_nan=False)] | None = None
    systolic: Annotated[int, Field(ge=40, le=320)] | None = None
    diastolic: Annotated[int, Field(ge=20, le=220)] | None = None


class Prescription(_Strict):
    max_minutes: Annotated[int, Field(ge=15, le=120)] | None = None
    sessions_per_week: Annotated[int, Field(ge=1, le=14)] | None = None
    weeks: Annotated[int, Field(ge=1, le=104)] | None = None
    modalities: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []
    exclude_modalities: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []
    focus_areas: Annotated[list[AreaId], Field(max_length=MAX_IDS)] = []


class ModalityExpectation(_Strict):
    include: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []
    include_any: Annotated[list[Annotated[list[ModalityId], Field(min_length=1, max_length=MAX_IDS)]],
                           Field(max_length=MAX_IDS)] = []
    exclude: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []


class TargetExpectation(_Strict):
    include: Annotated[list[SiteId], Field(max_length=MAX_IDS)] = []
    exclude: Annotated[list[SiteId], Field(max_length=MAX_IDS)] = []
    # v2: no work on that target (or any target in that area) above that pressure
    pressure: Annotated[dict[SiteId, PressureId], Field(max_length=MAX_IDS)] = {}


class ReferralExpectation(_Strict):
    """v2: a referral to that recipient and/or of that urgency must be present."""

    to: Annotated[str, InVocabulary("referrals", "referral")] | None = None
    urgency: Literal["routine", "urgent"] | None = None


class MinutesExpectation(_Strict):
    min: Minutes | None = None
    max: Minutes | None = None

    @model_validator(mode="after")
    def _possible(self) -> MinutesExpectation:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("impossible_expectation", "min {min} is more than max {max}: "
                                      "no plan can meet it", {"min": self.min, "max": self.max, "field": "min"})
        return self


class Expectation(_Strict):
    # the schema shows what a file may hold (one status or a list), not the list it becomes
    status: Annotated[list[StatusId],
                      BeforeValidator(_as_list, json_schema_input_type=StatusId | list[StatusId]),
                      Field(min_length=1, max_length=MAX_IDS,
                            json_schema_extra={"description": "a status, or a list meaning any of them"})] | None = None
    modalities: ModalityExpectation | None = None
    targets: TargetExpectation | None = None
    minutes: MinutesExpectation | None = None
    pressure_cap: PressureId | None = None
    clearances_required: Annotated[list[ClearanceId], Field(max_length=MAX_IDS)] = []
    referral: bool | ReferralExpectation | None = None
    # ICD-10-CM codes the plan must list as not covered
    not_covered: Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=MAX_IDS)] = []


class Case(_Strict):
    """One validated case: the physician's diagnosis of a patient, and what to expect."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    patient: Patient = Patient()
    # at least one diagnosis, or a code outside the knowledge base (then the case is not covered)
    diagnoses: Annotated[list[Diagnosis], Field(max_length=50, json_schema_extra={"minItems": 1})]
    findings: Annotated[list[Finding], Field(max_length=200)] = []
    history: Annotated[list[HistoryItem], Field(max_length=200)] = []
    medications: Annotated[list[Medication], Field(max_length=100)] = []
    labs: Labs = Labs()
    vitals: Vitals = Vitals()
    clearances: Annotated[list[Clearance], Field(max_length=MAX_IDS)] = []
    prescription: Prescription = Prescription()
    expect: Expectation | None = None

    _not_covered: tuple[tuple[str, str], ...] = PrivateAttr(default=())
    _unrecognised: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="before")
    @classmethod
    def _outside_the_map(cls, data: Any, info: ValidationInfo) -> Any:
        """Set aside the entries given only by a valid code the knowledge base does not map.

        They become ``not_covered``; the kept entries' positions in the file are remembered so
        that a problem in one of them names its own index.
        """
        context = info.context if isinstance(info.context, dict) else {}
        context["not_covered"] = []
        context["kept"] = {}
        if not isinstance(data, dict):
            return data
        for section, term_key in (("diagnoses", "condition"), ("history", "item")):
            entries = data.get(section)
            if not isinstance(entries, list) or not any(
                    isinstance(e, dict) and term_key not in e and isinstance(e.get("icd10"), str) for e in entries):
                continue
            index, code_map = icd.load_index(), icd.load_code_map()
            find = code_map.condition if term_key == "condition" else code_map.history_item
            kept: list[int] = []
            for i, entry in enumerate(entries):
                if isinstance(entry, dict) and term_key not in entry and isinstance(entry.get("icd10"), str):
                    code = index.get(entry["icd10"])
                    if code is not None and find(code) is None:
                        context["not_covered"].append((code.code, code.description))
                        continue
                kept.append(i)
            if len(kept) < len(entries):
                context["kept"][section] = kept
                data = {**data, section: [entries[i] for i in kept]}
        return data

    @model_validator(mode="after")
    def _intake(self, info: ValidationInfo) -> Case:
        context = info.context if isinstance(info.context, dict) else {}
        self._not_covered = tuple(dict.fromkeys(context.get("not_covered") or ()))
        if not self.diagnoses and not self._not_covered:
            raise PydanticCustomError("too_short", "should have at least 1 item (a diagnosis, by condition "
                                      "or by ICD-10-CM code)", {"field": "diagnoses"})
        vocab = context.get("vocabulary")
        if vocab is not None:
            self._unrecognised = tuple(dict.fromkeys(
                name for name, atc, cls in self._medication_parts()
                if not classify(name, atc, cls, vocab)[1]))
        return self

    @property
    def not_covered(self) -> tuple[tuple[str, str], ...]:
        """(code, description) of each valid ICD-10-CM code given that the knowledge base does not map."""
        return self._not_covered

    @property
    def unrecognised_medications(self) -> tuple[str, ...]:
        """Listed medications that neither the vocabulary, the drug table nor an ATC code classifies."""
        return self._unrecognised

    def _medication_parts(self) -> list[tuple[str, str | None, str | None]]:
        return [(m, None, None) if isinstance(m, str) else (m.name, m.atc, m.cls) for m in self.medications]

    def medication_pairs(self, vocab: Vocabulary) -> list[tuple[str, str]]:
        """(name, class) for every class of every listed medication (aspirin: antiplatelet, analgesic, nsaid)."""
        pairs: list[tuple[str, str]] = []
        for name, atc, cls in self._medication_parts():
            pairs += [(name, c) for c in classify(name, atc, cls, vocab)[0]]
        return list(dict.fromkeys(pairs))

    def medication_classes(self, vocab: Vocabulary) -> dict[str, str]:
        """Each classified medication mapped to its first class (a class maps to itself; v1)."""
        out: dict[str, str] = {}
        for name, cls in self.medication_pairs(vocab):
            out.setdefault(name, cls)
        return out

    def clearance_pairs(self) -> tuple[tuple[str, str | None], ...]:
        """(clearance id, scope): the scope is the `for` of a clearance object, None for a bare id."""
        pairs = ((c, None) if isinstance(c, str) else (c.id, c.scope) for c in self.clearances)
        return tuple(dict.fromkeys(pairs))


@dataclass(frozen=True)
class LoadedCase:
    """A case read from a file, or the error that stopped it, with where it came from."""

    source: str
    case: Case | None
    error: CaseError | None = None


def _path_text(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _problems(exc: ValidationError, source: str, kept: dict[str, list[int]] | None = None) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        if len(loc) > 2 and loc[0] in ("medications", "clearances") and loc[2] in _TAGS:
            loc = loc[:2] + loc[3:]  # the union's tag is no part of the field path
        if kept and len(loc) > 1 and loc[0] in kept and isinstance(loc[1], int) and loc[1] < len(kept[loc[0]]):
            loc = (loc[0], kept[loc[0]][loc[1]], *loc[2:])  # the entry's index in the file
        message = err["msg"]
        kind = err["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        value = err.get("input")
        field = (err.get("ctx") or {}).get("field")
        if field is not None:  # a check across fields names the field it is about
            loc = (*loc, field)
            value = value.get(field) if isinstance(value, dict) else None
        shown = value if kind != "missing" and value is not None else NO_VALUE
        problems.append(Problem(source, _path_text(loc), kind, message, shown))
    return problems


def validate_case(data: Any, source: str, vocab: Vocabulary) -> Case:
    """Validate one parsed case object; every problem is reported in one CaseError."""
    if data is None:
        raise CaseError([Problem(source, "", "empty", "the file holds no case (it is empty); "
                                             "a case must be a mapping of fields")])
    if not isinstance(data, dict):
        raise CaseError([Problem(source, "", "not_a_mapping", "a case must be a mapping of fields",
                                 type(data).__name__)])
    context: dict[str, Any] = {"vocabulary": vocab}
    try:
        return Case.model_validate(data, context=context)
    except ValidationError as exc:
        raise CaseError(_problems(exc, source, context.get("kept"))) from None
    except RecursionError:
        raise CaseError([Problem(source, "", "too_deep", "case is nested too deeply")]) from None


def load_case(path: str | Path, vocab: Vocabulary) -> Case:
    """Read and validate one YAML or JSON case file."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in CASE_SUFFIXES or suffix in JSONL_SUFFIXES:
        raise CaseError([Problem(source, "", "wrong_suffix", "not a single-case file: expected .yaml, .yml or .json "
                                             "(use batch for .jsonl)", suffix)])
    return validate_case(parse_document(read_text(path), source, suffix), source, vocab)


def iter_cases(path: str | Path, vocab: Vocabulary) -> Iterator[LoadedCase]:
    """The cases of one file (one, or one per line of JSON Lines), errors included."""
    path = Path(path)
    source = str(path)
    if path.suffix.lower() in JSONL_SUFFIXES:
        try:
            lines = iter_json_lines(path)
            for number, item in lines:
                where = f"{source}:{number}"
                if isinstance(item, CaseError):
                    yield LoadedCase(where, None, item)
                    continue
                try:
                    yield LoadedCase(where, validate_case(item, where, vocab))
                except CaseError as exc:
                    yield LoadedCase(where, None, exc)
        except CaseError as exc:
            yield LoadedCase(source, None, exc)
        return
    try:
        yield LoadedCase(source, load_case(path, vocab))
    except CaseError as exc:
        yield LoadedCase(source, None, exc)


def case_schema(vocab: Vocabulary) -> dict[str, Any]:
    """The JSON Schema of case files, from the models above with the vocabulary's ids."""
    schema = Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "medmassage-rules case file (contract v1)"

    def fill(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.pop("x-vocabulary", None)
            if kind is not None:
                node["enum"] = sorted(_choices(vocab, kind))
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


