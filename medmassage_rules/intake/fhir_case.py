"""A case from one patient's projected FHIR resources (case-format §5, §6): what
:mod:`.fhir` reads from a bundle, :mod:`.fhir_bulk` from a Bulk Data export and the CDS Hooks
service from a prefetch all become the same case here (the mapping is described in :mod:`.fhir`).
"""


from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import CaseError, Problem
from ..files.reading import parse_yaml
from ..kb.vocabulary import Vocabulary
from . import codes, intake_dir
from .fhir_medications import MAX_MEDICATIONS as MAX_MEDICATIONS
from .fhir_medications import MedicationsMixin
from .fhir_observations import read_observations
from .fhir_pregnancy import pregnancy_from_observations
from .fhir_procedures import recent_operations
from .fhir_projection import (
    OBSERVATION_CODES as OBSERVATION_CODES,  # every LOINC code read (the CDS Hooks prefetch asks for them)
)
from .fhir_projection import (
    SNOMED,
    Concept,
    Projected,
)
from .fhir_values import comment, label, side_of

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
# ICD-10-CM by its OID, and WHO ICD-10 (read as ICD-10-CM: a code ICD-10-CM does not hold is not mapped)
ICD10_SYSTEMS = frozenset({ICD10CM, "urn:oid:2.16.840.1.113883.6.90", "http://hl7.org/fhir/sid/icd-10"})
ACTIVE_PROBLEM = {"active", "recurrence", "relapse"}
NOT_A_PROBLEM = {"refuted", "entered-in-error"}
# not (yet) confirmed: a clot so recorded is a suspected one (the urgent row), not a known one
SUSPECTED = {"provisional", "differential", "unconfirmed"}
DAYS_SINCE = {"recent_fracture", "recent_surgery", "postpartum"}  # history items whose age the case gives
# history items that take a side (vocabulary: any item with an area may also carry one)
SIDED_ITEMS = frozenset({"known_dvt", "malignancy", "implanted_port", "recent_surgery", "recent_fracture",
                         "open_wound", "skin_infection", "cellulitis", "peripheral_neuropathy", "varicose_veins",
                         "lymph_node_removal"})
POSTPARTUM_DAYS = 42  # a pregnancy ended within this many days before the as-of date: postpartum
# the case model's bounds (cases/models.py, cases/fields.py; a stage above this one: a test pins them equal)
MAX_DAYS = 36_500                   # onset_days: a problem begun earlier is written as begun 100 years ago
MAX_AGE = 120
MAX_DIAGNOSES, MAX_HISTORY = 50, 200  # and MAX_MEDICATIONS (fhir_medications)
MAX_LINES = 20  # "not mapped" lines given one by one; the rest are counted in one line
MAX_NOTES = 50  # ServiceRequest note lines kept as comments
STALE_ORDER_DAYS = 365  # an order older than this before as_of is named on stderr (the plan's advisory says it too)
SNOMED_MAP_FILE = "snomed-map.yaml"
# a problem of a paired part of the body: worked on both sides when the record gives no side
_PAIRED = re.compile(r"\b(knee|hip|ankle|foot|feet|wrist|hand|elbow|shoulder|arm|leg|limb|forearm|thigh|calf|heel"
                     r"|carpal|epicondyl\w*|plantar|breast|sciatic\w*)\b", re.IGNORECASE)


@dataclass
class Imported:
    """The case built from a bundle, the lines it could not map, and comments for the file."""

    case: dict[str, Any]
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    advisories: list[str] = field(default_factory=list)   # for the user to act on: printed on stderr too

    def yaml(self, source: str, as_of: date) -> str:
        """The case file: the comments (every line escaped: nothing from the record starts a line) and the case."""
        head = [f"imported from {source} by medmassage import fhir (as of {as_of.isoformat()})"]
        head += [line for note in self.notes[:MAX_NOTES] for line in note.splitlines()[:MAX_NOTES]]
        if len(self.notes) > MAX_NOTES:
            head.append(f"... and {len(self.notes) - MAX_NOTES} more notes")
        head += [f"note: {line}" for line in self.advisories]
        head += [f"not mapped: {line}" for line in self.unmapped]
        head = [f"# {comment(line)}" for line in head]
        body = yaml.dump(self.case, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, default_flow_style=None,
                         width=100)
        return "\n".join(head) + "\n" + body


class _NoAliases(yaml.SafeDumper):
    """Case files refuse YAML anchors and aliases: write repeated values out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@lru_cache(maxsize=2)
def _snomed_rows(path: Path | None = None) -> dict[str, dict[str, Any]]:
    path = path or intake_dir() / SNOMED_MAP_FILE
    data = parse_yaml(path.read_text(encoding="utf-8"))
    return {str(k): dict(v) if isinstance(v, dict) else {"icd10": v} for k, v in (data.get("concepts") or {}).items()}


@lru_cache(maxsize=2)
def load_snomed_map(path: Path | None = None) -> dict[str, str]:
    """SNOMED CT concept -> ICD-10-CM code."""
    return {k: str(v["icd10"]) for k, v in _snomed_rows(path).items()}


def snomed_attributes(concept_id: str) -> dict[str, Any]:
    """The history attributes a SNOMED CT concept gives beyond its ICD-10-CM code ({} for most)."""
    return {k: v for k, v in _snomed_rows().get(concept_id, {}).items() if k != "icd10"}



def latest_encounter(resources: Iterable[Projected]) -> date | None:
    """The start of the latest Encounter: the default as-of date of a generated record."""
    return max((r.start for r in resources if r.type == "Encounter" and r.start is not None), default=None)


def case_from_resources(resources: list[Projected], vocab: Vocabulary, as_of: date | None = None,
                        source: str = "") -> tuple[Imported, date]:
    """The case of one patient's resources (in record order); ``as_of`` by default the latest Encounter's start."""
    by_type: dict[str, list[Projected]] = {}
    for resource in resources:
        by_type.setdefault(resource.type, []).append(resource)
    patients = by_type.get("Patient", [])
    if len(patients) != 1:
        raise CaseError([Problem(source, "", "patients", f"a bundle for one case holds exactly one Patient "
                                                         f"(found {len(patients)})")])
    if as_of is None:
        as_of = latest_encounter(by_type.get("Encounter", [])) or date.today()
    builder = _Builder(vocab, as_of, source)
    builder.patient(patients[0])
    for condition in by_type.get("Condition", []):
        builder.condition(condition)
    for medication in by_type.get("Medication", []):
        if medication.id and medication.code is not None:
            builder.known_medications[medication.id] = medication.code
    for kind in ("MedicationStatement", "MedicationRequest"):
        for medication in by_type.get(kind, []):
            builder.medication(medication, kind)
    builder.observations(by_type.get("Observation", []))
    builder.procedures(by_type.get("Procedure", []))
    for request in by_type.get("ServiceRequest", []):
        builder.service_request(request)
    return builder.result(), as_of


def _codings(concept: Concept | None) -> tuple[Any, ...]:
    return concept.codings if concept is not None else ()


def _text(concept: Concept | None) -> str:
    return label(concept.label) if concept is not None else ""


class _Builder(MedicationsMixin):
    def __init__(self, vocab: Vocabulary, as_of: date, source: str = ""):
        self.vocab = vocab
        self.as_of = as_of
        self.source = source
        self.out = Imported({})
        self.diagnoses: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.medications: dict[str, Any] = {}   # by lower-case name, in the order first seen
        self.known_medications: dict[str, Concept] = {}  # the record's Medication resources, by id
        self.seen: set[str] = set()
        self.codes: dict[tuple[tuple[str, str], ...], codes.Code | None] = {}  # a record repeats its codes
        self.more_unmapped = 0

    def unmapped(self, line: str) -> None:
        """A line for what could not be mapped; past MAX_LINES only counted (summarised in :meth:`result`)."""
        if len(self.out.unmapped) < MAX_LINES:
            self.out.unmapped.append(line)
        else:
            self.more_unmapped += 1

    def advise(self, line: str) -> None:
        """A note for the user to act on: in the case file and on stderr."""
        self.out.advisories.append(line)

    def add_history(self, entry: dict[str, Any], resource: Projected, value: str) -> None:
        """A history item for the case; a record with more than a case holds is refused as it shows."""
        if len(self.history) >= MAX_HISTORY:
            raise self.too_many("history items", MAX_HISTORY, resource, value)
        self.history.append(entry)

    def too_many(self, field_name: str, limit: int, resource: Projected, value: str) -> CaseError:
        """The refusal of a record with more distinct items of a kind than a case holds, given as soon as it shows."""
        return CaseError([Problem(self.source, resource.where or field_name, "too_many",
                                  f"more than {limit} distinct active {field_name}: a case holds at most {limit}; "
                                  f"refused", value)])

    def patient(self, patient: Projected) -> None:
        self.out.case["id"] = f"fhir-{patient.id}" if patient.id else "fhir-patient"
        self.out.case["as_of"] = self.as_of.isoformat()
        block: dict[str, Any] = {}
        born = patient.birth_date
        if born is not None:
            age = self.as_of.year - born.year - ((self.as_of.month, self.as_of.day) < (born.month, born.day))
            if 0 <= age <= MAX_AGE:
                block["age"] = age
            else:
                self.out.advisories.append(f"{patient.where or 'Patient'}.birthDate {born.isoformat()}: age {age} on "
                                           f"{self.as_of.isoformat()} is outside 0-{MAX_AGE}; the case gives no age - "
                                           f"check the birth date and --as-of")
        if patient.gender:
            block["sex"] = patient.gender
        if block:
            self.out.case["patient"] = block

    # -- problems ---------------------------------------------------------------------------
    def _active(self, condition: Projected) -> bool:
        """Active on the as-of date: begun by then, not abated by then, and not refuted.

        A problem resolved (or inactive, in remission) after the as-of date was active on it.
        """
        if condition.verification in NOT_A_PROBLEM:
            return False
        if condition.start is not None and condition.start > self.as_of:
            return False
        abated = condition.end
        if abated is not None and abated <= self.as_of:
            return False
        if condition.status is None or condition.status in ACTIVE_PROBLEM:
            return True
        return abated is not None  # resolved later than the as-of date

    def condition(self, condition: Projected) -> None:
        if self._active(condition):
            onset = condition.start
            self._problem(condition, condition.code, "Condition",
                          (self.as_of - onset).days if onset is not None else None, sites=condition.body_sites,
                          suspected=condition.verification in SUSPECTED)
        elif condition.verification not in NOT_A_PROBLEM and \
                (condition.start is None or condition.start <= self.as_of):
            self._past(condition)

    def _past(self, condition: Projected) -> None:
        """A problem over by the as-of date that still counts (docs/ehr.md, beyond case-format §5).

        A malignancy resolved, in remission or inactive is history malignancy, ``active: false``
        (the rows for cancer with spinal pain hold "active or not"); a pregnancy ended within the
        42 days before the as-of date is postpartum, with its ``days_since`` (a generated record
        ends the pregnancy at delivery and codes no postpartum state).
        """
        code = self._icd10(condition.code)
        code_map = codes.load_code_map()
        item = code_map.history_item(code) if code is not None and code_map.condition(code) is None else None
        if code is None or item is None:
            return
        name = _text(condition.code) or code.code
        ended = condition.end
        if item.term == "malignancy":
            key, entry = f"{code.code} inactive", {"icd10": code.code, "active": False}
            note = f"Condition {name} ({code.code}): {condition.status or 'ended'} - history malignancy, active: false"
        elif item.term == "pregnancy" and ended is not None and 0 <= (self.as_of - ended).days <= POSTPARTUM_DAYS:
            days = (self.as_of - ended).days
            key, entry = "postpartum", {"item": "postpartum", "days_since": days}
            note = f"Condition {name} ({code.code}): ended {ended.isoformat()} - postpartum, {days} days"
        else:
            return
        if key in self.seen:
            return
        self.seen.add(key)
        self.add_history(entry, condition, code.code)
        self.out.advisories.append(note)

    def _problem(self, resource: Projected, concept: Concept | None, kind: str, onset_days: int | None = None,
                 sites: tuple[Concept, ...] = (), suspected: bool = False) -> None:
        code = self._icd10(concept)
        label = _text(concept) or "(no text)"
        if code is None:
            self.unmapped(f"{kind} {label}: no ICD-10-CM code, and no SNOMED CT code in the crosswalk")
            return
        code_map = codes.load_code_map()
        item = code_map.history_item(code) if code_map.condition(code) is None else None
        if suspected and item is not None and item.term == "known_dvt":
            # a provisional, differential or unconfirmed clot: suspected, not known (the urgent referral)
            self.out.advisories.append(f"{kind} {label} ({code.code}): verification status not confirmed - "
                                       f"imported as suspected_dvt")
            key = "suspected_dvt"
        else:
            key = code.code
        if key in self.seen:
            return
        self.seen.add(key)
        if item is not None:
            item_entry: dict[str, Any] = {"item": "suspected_dvt"} if key == "suspected_dvt" else {"icd10": code.code}
            if key != "suspected_dvt":
                for coding in _codings(concept):
                    if coding.system == SNOMED:
                        item_entry.update(snomed_attributes(coding.code))
                if item.term in DAYS_SINCE and onset_days is not None and onset_days >= 0:
                    item_entry["days_since"] = min(onset_days, MAX_DAYS)
                if item.term in SIDED_ITEMS and code.side is None and "side" not in item_entry:
                    side = side_of(sites) or side_of([concept])  # as for a diagnosis: bodySite, else the text
                    if side is not None:
                        item_entry["side"] = side
            self.add_history(item_entry, resource, code.code)
            return
        if len(self.diagnoses) >= MAX_DIAGNOSES:
            raise self.too_many("diagnoses", MAX_DIAGNOSES, resource, code.code)
        entry: dict[str, Any] = {"icd10": code.code}
        if code.side is None:
            side = side_of(sites) or side_of([concept])
            if side is not None:
                entry["side"] = side
            elif code_map.condition(code) is not None and _PAIRED.search(f"{code.description} {label}"):
                self.out.advisories.append(f"{kind} {label} ({code.code}): side not given - the plan works both sides; "
                                      f"add side: left, right or bilateral to the diagnosis if the record knows it")
        if onset_days is not None and onset_days > MAX_DAYS:
            self.out.advisories.append(f"{kind} {label} ({code.code}): begun {onset_days} days before "
                                       f"{self.as_of.isoformat()}; written as onset_days: {MAX_DAYS} (the most a case "
                                       f"holds; chronic either way)")
            onset_days = MAX_DAYS
        if onset_days is not None and onset_days >= 0:
            entry["onset_days"] = onset_days  # the acuity follows from it
        self.diagnoses.append(entry)

    def _icd10(self, concept: Concept | None) -> codes.Code | None:
        key = tuple((c.system, c.code) for c in _codings(concept))
        if key not in self.codes:
            self.codes[key] = self._lookup(concept)
        return self.codes[key]

    def _lookup(self, concept: Concept | None) -> codes.Code | None:
        index = codes.load_index()
        for coding in _codings(concept):
            if coding.system in ICD10_SYSTEMS and coding.code:
                found = index.get(coding.code)
                if found is not None:
                    return found
        crosswalk = load_snomed_map()
        for coding in _codings(concept):
            if coding.system == SNOMED and coding.code in crosswalk:
                return index.get(crosswalk[coding.code])
        return None

    # -- observations ---------------------------------------------------------------------------
    def observations(self, observations: list[Projected]) -> None:
        labs, vitals = read_observations(observations, self.as_of, self.source)
        if labs:
            self.out.case["labs"] = labs
        if vitals:
            self.out.case["vitals"] = vitals
        entry, notes = pregnancy_from_observations(observations, self.as_of)
        self.out.advisories.extend(notes)
        if entry is not None and not self._has_item("pregnancy"):
            self.add_history(entry, observations[0], "pregnancy")

    def _has_item(self, term: str) -> bool:
        """A history item of this term is in the case already (by its item or its code)."""
        index, code_map = codes.load_index(), codes.load_code_map()
        for item in self.history:
            code = index.get(item["icd10"]) if "icd10" in item else None
            mapped = code_map.history_item(code) if code is not None else None
            if item.get("item") == term or mapped is not None and mapped.term == term:
                return True
        return False

    def procedures(self, procedures: list[Projected]) -> None:
        entries, notes = recent_operations(procedures, self.as_of)  # recent operations (fhir_procedures)
        self.out.advisories.extend(notes)
        for entry in entries:
            self.add_history(entry, procedures[0], entry["item"])

    # -- the massage order -------------------------------------------------------------------------
    def service_request(self, request: Projected) -> None:
        if request.status not in ("active", "draft", "on-hold"):
            return
        for reason in request.reasons:
            self._problem(request, reason, "ServiceRequest reason")
        what = _text(request.code)
        for text in request.notes:
            self.out.notes.append(f"ServiceRequest{' (' + what + ')' if what else ''}: {text[:MAX_NOTES * 500]}")

    def result(self) -> Imported:
        if self.more_unmapped:
            self.out.unmapped.append(f"... and {self.more_unmapped} more not mapped (the first {MAX_LINES} above)")
        case = self.out.case
        ordered = {"id": case.pop("id")}
        if "as_of" in case:
            ordered["as_of"] = case.pop("as_of")
        if "patient" in case:
            ordered["patient"] = case.pop("patient")
        ordered["diagnoses"] = self.diagnoses
        if self.history:
            ordered["history"] = self.history
        if self.medications:
            ordered["medications"] = [m if len(m) > 1 else m["name"] for m in self.medications.values()]
        for m in self.medications.values():
            when = date.fromisoformat(m["ordered"]) if "ordered" in m else None
            if when is not None and (self.as_of - when).days > STALE_ORDER_DAYS:
                self.out.advisories.append(f"medication {m['name']}: order dated {m['ordered']}, more than a year "
                                           f"before {self.as_of.isoformat()}: it is counted; confirm it is current")
        ordered.update(case)
        self.out.case = ordered
        return self.out
