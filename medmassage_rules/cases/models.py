"""Case files: the models of a case, validated against the vocabulary and normalised into case data.

The pydantic models below are the single definition of a case file: they validate it
(collecting every problem), normalise it (acuity from onset_days, medication names to
classes, a finding's area from its target, ICD-10-CM codes to conditions and history items
with their side; see docs/codes-and-medications.md) and generate the JSON Schema printed by
``medmassage schema``. The id fields are in :mod:`.fields`, the ``expect`` block in
:mod:`.expect_block`; reading and validating files is :mod:`.loading`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..intake.code_placement import MEDICATION, sort_entries
from ..intake.medications import IMPLIED_CLASSES, classify
from ..kb.vocabulary import Vocabulary
from .expect_block import Expectation, beyond_prescription, impossible
from .fields import (
    MAX_DAYS,
    MAX_IDS,
    AcuityId,
    AreaId,
    ClearanceId,
    ClearanceScopeId,
    ConditionId,
    FindingId,
    HistoryId,
    Icd10Text,
    MedicationClassId,
    MedicationName,
    ModalityId,
    SeverityId,
    SideId,
    SiteId,
    StrictModel,
    atc_code,
    calendar_date,
    fill_from_code,
    id_or_object,
    upper,
    vocabulary_of,
)

# Thresholds of contract §1.
ACUTE_MAX_DAYS = 3
SUBACUTE_MAX_DAYS = 42
# Conditions defined by a dated injury: without acuity or onset_days they count as acute, the safe
# side (clinical-v2.1 §2.6); every strain, sprain or contusion (vocabulary soft_tissue_injuries) is one.
ACUTE_BY_DEFAULT = ("ankle_sprain", "delayed_onset_muscle_soreness", "hamstring_strain",
                    "whiplash_associated_disorder")
NEEDS_AREA = ("lymphedema", "post_surgical_edema")
# clinical-v2.1 §2.8: facts that cannot hold for a male patient (sex is free text: "male" or "m", any case)
MALE = ("male", "m")
FEMALE_ONLY_HISTORY = ("pregnancy", "postpartum")
FEMALE_ONLY_CONDITIONS = ("pelvic_girdle_pain",)


class Patient(StrictModel):
    age: Annotated[int, Field(ge=0, le=120)] | None = None
    sex: str | None = None
    frail: bool | None = None


class Diagnosis(StrictModel):
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
        return fill_from_code(data, "condition")

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

    @property
    def acuity_recorded(self) -> bool:
        """Whether the case gives acuity or onset_days (else the acuity is the condition's default)."""
        return self.acuity is not None or self.onset_days is not None


class Finding(StrictModel):
    finding: FindingId
    area: AreaId | None = None
    target: SiteId | None = None
    side: SideId | None = None
    hours_since: Annotated[int, Field(ge=0, le=MAX_DAYS * 24)] | None = None  # chest_pain only; absent = 0

    @model_validator(mode="after")
    def _target_rules(self, info: ValidationInfo) -> Finding:
        if self.hours_since is not None and self.finding != "chest_pain":
            raise PydanticCustomError("hours_since_not_allowed", "hours_since is given only for a chest_pain "
                                      "finding (got {finding})", {"finding": self.finding, "field": "hours_since"})
        if self.finding == "trigger_point" and self.target is None:
            raise PydanticCustomError("missing_target", "a trigger_point finding needs a target "
                                      "(the muscle holding it)", {"field": "target"})
        if self.target is not None and self.area is not None:
            target_area = vocabulary_of(info).area_of(self.target)
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


class HistoryItem(StrictModel):
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
        return fill_from_code(data, "item")


class MedicationEntry(StrictModel):
    """v2: a medication given as an object - a name with its ATC code and/or its class."""

    name: MedicationName
    atc: Annotated[str, BeforeValidator(upper), AfterValidator(atc_code)] | None = None
    cls: Annotated[MedicationClassId | None, Field(alias="class")] = None
    ordered: Annotated[date, BeforeValidator(calendar_date)] | None = None  # v2.1: when it was ordered


class ScopedClearance(StrictModel):
    """v2: a clearance that lifts only the requirements raised by one fact (`for`)."""

    id: ClearanceId
    scope: Annotated[ClearanceScopeId, Field(alias="for")]


# A list entry is an id (v1) or an object (v2); the tag only picks the model that validates it.
Medication = Annotated[Annotated[MedicationName, Tag("id")] | Annotated[MedicationEntry, Tag("object")],
                       Discriminator(id_or_object)]
Clearance = Annotated[Annotated[ClearanceId, Tag("id")] | Annotated[ScopedClearance, Tag("object")],
                      Discriminator(id_or_object)]


class Labs(StrictModel):
    platelets_k: Annotated[float, Field(ge=0, le=5000, allow_inf_nan=False)] | None = None


class Vitals(StrictModel):
    temperature_c: Annotated[float, Field(ge=25, le=45, allow_inf_nan=False)] | None = None
    systolic: Annotated[int, Field(ge=40, le=320)] | None = None
    diastolic: Annotated[int, Field(ge=20, le=220)] | None = None


class Prescription(StrictModel):
    max_minutes: Annotated[int, Field(ge=15, le=120)] | None = None
    sessions_per_week: Annotated[int, Field(ge=1, le=14)] | None = None
    weeks: Annotated[int, Field(ge=1, le=104)] | None = None
    modalities: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []
    exclude_modalities: Annotated[list[ModalityId], Field(max_length=MAX_IDS)] = []
    focus_areas: Annotated[list[AreaId], Field(max_length=MAX_IDS)] = []


class Case(StrictModel):
    """One validated case: the physician's diagnosis of a patient, and what to expect."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    as_of: Annotated[date, BeforeValidator(calendar_date)] | None = None  # v2.1: the date the facts describe
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
    _read_as: tuple[tuple[str, str, str, str, str], ...] = PrivateAttr(default=())

    @model_validator(mode="before")
    @classmethod
    def _codes_where_they_belong(cls, data: Any, info: ValidationInfo) -> Any:
        """A code means the same wherever it is entered (clinical-v2.1 §8).

        An entry given only by a code that maps to a history item counts as that item under
        ``diagnoses`` too (and one that maps to a condition counts as a diagnosis under
        ``history``); only a code that maps to nothing goes to ``not_covered``. Each entry's place
        in the file is remembered (``origin``), so that a problem in it names its own path.
        """
        context = info.context if isinstance(info.context, dict) else {}
        context["not_covered"], context["read_as"], context["origin"] = [], [], {}
        if not isinstance(data, dict):
            return data
        moved = sort_entries(data.get("diagnoses"), data.get("history"))
        if moved is None:
            return data
        context["not_covered"] += moved.not_covered
        context["read_as"] += moved.read_as
        context["origin"] = {"diagnoses": moved.diagnosis_origin, "history": moved.history_origin}
        return {**data, "diagnoses": moved.diagnoses, "history": moved.history}

    @model_validator(mode="after")
    def _intake(self, info: ValidationInfo) -> Case:
        context = info.context if isinstance(info.context, dict) else {}
        self._not_covered = tuple(dict.fromkeys(context.get("not_covered") or ()))
        self._read_as = tuple(dict.fromkeys(context.get("read_as") or ()))
        if not self.diagnoses and not self._not_covered and not self._read_as:
            raise PydanticCustomError("too_short", "should have at least 1 item (a diagnosis, by condition "
                                      "or by ICD-10-CM code)", {"field": "diagnoses"})
        vocab = context.get("vocabulary")
        if vocab is not None:
            self._unrecognised = tuple(dict.fromkeys(
                name for name, atc, cls in self._medication_parts()
                if not classify(name, atc, cls, vocab)[1]))
        return self

    @model_validator(mode="after")
    def _facts_agree(self, info: ValidationInfo) -> Case:
        """Facts that contradict each other are invalid input, one problem each (clinical-v2.1 §2.8):
        a pregnancy, postpartum or pelvic girdle pain with sex male ("male" or "m", any case)."""
        sex = self.patient.sex
        if sex is None or sex.strip().lower() not in MALE:
            return self
        context = info.context if isinstance(info.context, dict) else {}
        origin: dict[str, list[tuple[str, int]]] = context.get("origin") or {}
        entries: list[tuple[str, int, str, str | None]] = [
            ("history", i, h.item, h.icd10) for i, h in enumerate(self.history) if h.item in FEMALE_ONLY_HISTORY]
        entries += [("diagnoses", i, d.condition, d.icd10) for i, d in enumerate(self.diagnoses)
                    if d.condition in FEMALE_ONLY_CONDITIONS]
        found = []
        for section, i, term, code in entries:
            places = origin.get(section) or []
            where = places[i] if i < len(places) else (section, i)
            field = "icd10" if code is not None else "item" if section == "history" else "condition"
            found.append(((*where, field), f"{term} contradicts patient.sex {sex!r}: the case cannot hold both",
                          code or term))
        if found:
            raise PydanticCustomError("contradictory_facts", "{message}",
                                      {"message": found[0][1], "contradictions": tuple(found)})
        return self

    @model_validator(mode="after")
    def _expect_within_prescription(self) -> Case:
        found = tuple(beyond_prescription(self.expect, self.prescription.max_minutes))
        if found:
            raise impossible(found)
        return self

    @property
    def not_covered(self) -> tuple[tuple[str, str], ...]:
        """(code, description) of each valid ICD-10-CM code given that the knowledge base does not map."""
        return self._not_covered

    @property
    def read_as(self) -> tuple[tuple[str, str, str, str, str], ...]:
        """(section, code, description, "history item", "condition" or a medication class, term) of each
        code entered where its meaning does not belong, or recording current use of a drug class
        (Z79.01): it counts as that term (clinical-v2.1 §8)."""
        return self._read_as

    @property
    def medication_orders(self) -> tuple[tuple[str, date], ...]:
        """(name, date ordered) of each medication object that gives ``ordered``."""
        return tuple((m.name, m.ordered) for m in self.medications
                     if isinstance(m, MedicationEntry) and m.ordered is not None)

    @property
    def unrecognised_medications(self) -> tuple[str, ...]:
        """Listed medications that neither the vocabulary, the drug table nor an ATC code classifies."""
        return self._unrecognised

    def _medication_parts(self) -> list[tuple[str, str | None, str | None]]:
        return [(m, None, None) if isinstance(m, str) else (m.name, m.atc, m.cls) for m in self.medications]

    def medication_pairs(self, vocab: Vocabulary) -> list[tuple[str, str]]:
        """(name, class) for every class of every listed medication (aspirin: antiplatelet, analgesic, nsaid),
        then for every code of current drug use under diagnoses or history, named by the code
        (("Z79.01", "anticoagulant"); the opioid of Z79.891 is an analgesic too; see ``read_as``)."""
        pairs: list[tuple[str, str]] = []
        for name, atc, cls in self._medication_parts():
            pairs += [(name, c) for c in classify(name, atc, cls, vocab)[0]]
        for _, code, _, kind, cls in self._read_as:
            if kind == MEDICATION:
                pairs += [(code, c) for c in (cls, *IMPLIED_CLASSES.get(cls, ())) if c in vocab.medication_classes]
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
