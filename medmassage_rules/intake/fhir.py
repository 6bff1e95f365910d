"""FHIR R4 import: one patient Bundle -> one case file (case-format §5, `medmassage import fhir`).

The bundle is read with the ``fhir.resources`` models (the optional extra ``[fhir]``; its R4B
models read R4 bundles), so a malformed bundle is refused as a whole. Then:

- Patient: the case id and the age at the as-of date (by default the start of the bundle's
  latest Encounter: generated bundles carry shifted dates) and the sex.
- Condition: only active problems (clinicalStatus active, recurrence or relapse; not refuted
  or entered in error; begun and not abated by the as-of date). An ICD-10-CM coding is used as
  it is; a SNOMED CT coding goes through rules/intake/snomed-map.yaml to an ICD-10-CM code.
  A code the knowledge base maps to a history item becomes history, any other a diagnosis (a
  valid code it does not cover is then listed as not covered by the plan).
- MedicationStatement / MedicationRequest: every active, intended or on-hold medication, by
  an ATC coding, by a drug of rules/intake/medications.yaml named in its text, or by its text.
- Observation by LOINC: the latest platelet count (777-3, 26515-7), body temperature
  (8310-5) and blood pressure (panel 85354-9 or 55284-4, components 8480-6 and 8462-4).
- ServiceRequest: its reason codes as conditions, its notes as comments in the case file.

What cannot be mapped is returned as one line each for the command to print on stderr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import CaseError, MedMassageError, Problem
from ..files.reading import parse_json, parse_yaml
from ..kb.vocabulary import Vocabulary
from . import codes, intake_dir
from .medications import load_drugs

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PLATELETS = ("777-3", "26515-7")
TEMPERATURE = ("8310-5",)
BP_PANELS = ("85354-9", "55284-4")
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
ACTIVE_PROBLEM = {"active", "recurrence", "relapse"}
NOT_A_PROBLEM = {"refuted", "entered-in-error"}
ACTIVE_MEDICATION = {"active", "intended", "on-hold"}
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
SNOMED_MAP_FILE = "snomed-map.yaml"


class FhirUnavailableError(MedMassageError):
    """The optional FHIR models are not installed."""


@dataclass
class Imported:
    """The case built from a bundle, the lines it could not map, and comments for the file."""

    case: dict[str, Any]
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def yaml(self, source: str, as_of: date) -> str:
        head = [f"# imported from {source} by medmassage import fhir (as of {as_of.isoformat()})"]
        head += [f"# {line}" for note in self.notes for line in note.splitlines()]
        head += [f"# not mapped: {line}" for line in self.unmapped]
        body = yaml.dump(self.case, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, default_flow_style=None,
                         width=100)
        return "\n".join(head) + "\n" + body


class _NoAliases(yaml.SafeDumper):
    """Case files refuse YAML anchors and aliases: write repeated values out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@lru_cache(maxsize=2)
def load_snomed_map(path: Path | None = None) -> dict[str, str]:
    path = path or intake_dir() / SNOMED_MAP_FILE
    data = parse_yaml(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in (data.get("concepts") or {}).items()}


def _models() -> Any:
    try:
        from fhir.resources.R4B.bundle import Bundle
    except ImportError:
        raise FhirUnavailableError("FHIR import needs the optional models: "
                                   "pip install 'medmassage-rules[fhir]'") from None
    return Bundle


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date(int(text[:4]), int(text[5:7] or 1), 1)
    except ValueError:
        return None


def _codings(concept: Any) -> list[Any]:
    return list(getattr(concept, "coding", None) or []) if concept is not None else []


def _text(concept: Any) -> str:
    if concept is None:
        return ""
    if getattr(concept, "text", None):
        return str(concept.text)
    return next((str(c.display) for c in _codings(concept) if c.display), "")


def _status(concept: Any) -> str | None:
    return next((str(c.code) for c in _codings(concept) if c.code), None)


def read_bundle(path: Path) -> Any:
    """Parse and validate a FHIR Bundle file; any problem is one CaseError line naming the file."""
    source = str(path)
    Bundle = _models()
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise CaseError([Problem(source, "", "too_large",
                                     f"bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB")])
        data = parse_json(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise CaseError([Problem(source, "", "unreadable", f"cannot read file: {exc.strerror or exc}")]) from None
    except (ValueError, RecursionError) as exc:
        raise CaseError([Problem(source, "", "invalid_json", f"not a FHIR bundle: invalid JSON ({exc})")]) from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise CaseError([Problem(source, "resourceType", "not_a_bundle", "not a FHIR Bundle", found)])
    try:
        return Bundle.model_validate(data)
    except Exception as exc:  # the models' validation error: report its first problem on one line
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) if len(first) > 1 else str(exc)
        raise CaseError([Problem(source, "", "not_a_bundle", f"not a valid FHIR R4 Bundle: {detail}")]) from None


def import_bundle(path: str | Path, vocab: Vocabulary, as_of: date | None = None) -> tuple[Imported, date]:
    """Build a case (as plain data) from a bundle file; returns it with the as-of date used."""
    path = Path(path)
    bundle = read_bundle(path)
    resources = [e.resource for e in (bundle.entry or []) if e.resource is not None]
    by_type: dict[str, list[Any]] = {}
    for resource in resources:
        by_type.setdefault(resource.get_resource_type(), []).append(resource)
    patients = by_type.get("Patient", [])
    if len(patients) != 1:
        raise CaseError([Problem(str(path), "", "patients", f"a bundle for one case holds exactly one Patient "
                                                f"(found {len(patients)})")])
    if as_of is None:
        starts = [_day(e.period.start) for e in by_type.get("Encounter", []) if e.period and e.period.start]
        as_of = max((d for d in starts if d), default=date.today())
    builder = _Builder(vocab, as_of)
    builder.patient(patients[0])
    for condition in by_type.get("Condition", []):
        builder.condition(condition)
    for kind in ("MedicationStatement", "MedicationRequest"):
        for medication in by_type.get(kind, []):
            builder.medication(medication, kind)
    builder.observations(by_type.get("Observation", []))
    for request in by_type.get("ServiceRequest", []):
        builder.service_request(request)
    return builder.result(), as_of


class _Builder:
    def __init__(self, vocab: Vocabulary, as_of: date):
        self.vocab = vocab
        self.as_of = as_of
        self.out = Imported({})
        self.diagnoses: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.medications: list[Any] = []
        self.seen: set[str] = set()

    def patient(self, patient: Any) -> None:
        self.out.case["id"] = f"fhir-{patient.id}" if patient.id else "fhir-patient"
        block: dict[str, Any] = {}
        born = _day(patient.birthDate)
        if born is not None:
            age = self.as_of.year - born.year - ((self.as_of.month, self.as_of.day) < (born.month, born.day))
            if 0 <= age <= 120:
                block["age"] = age
        if patient.gender:
            block["sex"] = str(patient.gender)
        if block:
            self.out.case["patient"] = block

    # -- problems ---------------------------------------------------------------------------
    def _active(self, condition: Any) -> bool:
        if _status(condition.verificationStatus) in NOT_A_PROBLEM:
            return False
        status = _status(condition.clinicalStatus)
        if status is not None and status not in ACTIVE_PROBLEM:
            return False
        onset = _day(getattr(condition, "onsetDateTime", None))
        if onset is not None and onset > self.as_of:
            return False
        abated = _day(getattr(condition, "abatementDateTime", None))
        return abated is None or abated > self.as_of

    def condition(self, condition: Any) -> None:
        if self._active(condition):
            onset = _day(getattr(condition, "onsetDateTime", None))
            self._problem(condition.code, "Condition", (self.as_of - onset).days if onset is not None else None)

    def _problem(self, concept: Any, kind: str, onset_days: int | None = None) -> None:
        code = self._icd10(concept)
        label = _text(concept) or "(no text)"
        if code is None:
            self.out.unmapped.append(f"{kind} {label}: no ICD-10-CM code, and no SNOMED CT code in the crosswalk")
            return
        if code.code in self.seen:
            return
        self.seen.add(code.code)
        code_map = codes.load_code_map()
        if code_map.condition(code) is None and code_map.history_item(code) is not None:
            self.history.append({"icd10": code.code})
        else:
            entry: dict[str, Any] = {"icd10": code.code}
            if onset_days is not None and onset_days >= 0:
                entry["onset_days"] = onset_days  # the acuity follows from it
            self.diagnoses.append(entry)

    def _icd10(self, concept: Any) -> codes.Code | None:
        index = codes.load_index()
        for coding in _codings(concept):
            if coding.system == ICD10CM and coding.code:
                found = index.get(str(coding.code))
                if found is not None:
                    return found
        crosswalk = load_snomed_map()
        for coding in _codings(concept):
            if coding.system == SNOMED and str(coding.code) in crosswalk:
                return index.get(crosswalk[str(coding.code)])
        return None

    # -- medications --------------------------------------------------------------------------
    def medication(self, resource: Any, kind: str) -> None:
        if str(resource.status) not in ACTIVE_MEDICATION:
            return
        period = getattr(resource, "effectivePeriod", None)
        started = (_day(getattr(resource, "authoredOn", None)) or _day(getattr(resource, "effectiveDateTime", None))
                   or _day(getattr(period, "start", None) if period is not None else None))
        if started is not None and started > self.as_of:
            return  # prescribed after the day the case describes
        concept = getattr(resource, "medicationCodeableConcept", None)
        if concept is None:
            reference = getattr(resource, "medicationReference", None)
            display = getattr(reference, "display", None) if reference is not None else None
            if not display:
                self.out.unmapped.append(f"{kind} {resource.id}: a medication given only by reference")
                return
            self._add_medication(str(display), None, kind)
            return
        atc = next((str(c.code) for c in _codings(concept) if c.system == ATC and c.code), None)
        self._add_medication(_text(concept), atc, kind)

    def _add_medication(self, text: str, atc: str | None, kind: str) -> None:
        generic = _drug_named(text)
        name = generic or " ".join(text.split())[:200]
        if not name:
            return
        if generic is None and atc is None:
            self.out.unmapped.append(f"{kind} {name}: no ATC code and no drug of the table named (kept by name)")
        entry: Any = {"name": name, "atc": atc} if atc else name
        key = name.lower()
        if key not in self.seen:
            self.seen.add(key)
            self.medications.append(entry)

    # -- observations ---------------------------------------------------------------------------
    def observations(self, observations: list[Any]) -> None:
        latest: dict[str, tuple[date, float]] = {}

        def note(what: str, when: date | None, value: Any) -> None:
            if when is None or when > self.as_of or value is None:
                return
            if what not in latest or when >= latest[what][0]:
                latest[what] = (when, float(value))

        for obs in observations:
            if str(obs.status) in ("entered-in-error", "cancelled"):
                continue
            loinc = {str(c.code) for c in _codings(obs.code) if c.system == LOINC}
            when = _day(getattr(obs, "effectiveDateTime", None)) or _day(getattr(obs, "issued", None))
            quantity = getattr(obs, "valueQuantity", None)
            if loinc & set(PLATELETS) and quantity is not None:
                note("platelets_k", when, _platelets(quantity))
            if loinc & set(TEMPERATURE) and quantity is not None:
                note("temperature_c", when, _celsius(quantity))
            parts = [(loinc, quantity)] + [({str(c.code) for c in _codings(p.code) if c.system == LOINC},
                                             getattr(p, "valueQuantity", None)) for p in (obs.component or [])]
            if loinc & set(BP_PANELS) or loinc & {SYSTOLIC, DIASTOLIC}:
                for codes_here, q in parts:
                    if q is None or q.value is None:
                        continue
                    if SYSTOLIC in codes_here:
                        note("systolic", when, q.value)
                    if DIASTOLIC in codes_here:
                        note("diastolic", when, q.value)
        labs = {"platelets_k": round(latest["platelets_k"][1], 1)} if "platelets_k" in latest else {}
        vitals: dict[str, Any] = {}
        if "temperature_c" in latest:
            vitals["temperature_c"] = round(latest["temperature_c"][1], 1)
        for key in ("systolic", "diastolic"):
            if key in latest:
                vitals[key] = int(round(latest[key][1]))
        if labs:
            self.out.case["labs"] = labs
        if vitals:
            self.out.case["vitals"] = vitals

    # -- the massage order -------------------------------------------------------------------------
    def service_request(self, request: Any) -> None:
        if str(request.status) not in ("active", "draft", "on-hold"):
            return
        for reason in request.reasonCode or []:
            self._problem(reason, "ServiceRequest reason")
        what = _text(request.code)
        for note in request.note or []:
            if note.text:
                self.out.notes.append(f"ServiceRequest{' (' + what + ')' if what else ''}: {note.text}")

    def result(self) -> Imported:
        case = self.out.case
        ordered = {"id": case.pop("id")}
        if "patient" in case:
            ordered["patient"] = case.pop("patient")
        ordered["diagnoses"] = self.diagnoses
        if self.history:
            ordered["history"] = self.history
        if self.medications:
            ordered["medications"] = self.medications
        ordered.update(case)
        self.out.case = ordered
        return self.out


_UNITS_K_PER_UL = {"10*3/uL", "10*3/ul", "10^3/uL", "K/uL", "10*9/L", "10^9/L", "/nL"}


def _platelets(quantity: Any) -> float | None:
    value, unit = quantity.value, str(quantity.code or quantity.unit or "")
    if value is None:
        return None
    if unit in _UNITS_K_PER_UL or not unit:
        return float(value)
    if unit in ("/uL", "/mm3", "{cells}/uL"):
        return float(value) / 1000
    return None


def _celsius(quantity: Any) -> float | None:
    value, unit = quantity.value, str(quantity.code or quantity.unit or "")
    if value is None:
        return None
    if unit in ("[degF]", "degF", "°F"):
        return (float(value) - 32) * 5 / 9
    return float(value)


@lru_cache(maxsize=1)
def _drug_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    drugs = load_drugs().drugs
    names = sorted(drugs, key=len, reverse=True)  # the longest name first: "insulin glargine" before "insulin"
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE)
    return pattern, {n: drugs[n].name for n in names}


def _drug_named(text: str) -> str | None:
    """The generic name of the table's drug a medication text names ("Lasix 40mg" -> furosemide)."""
    pattern, generic = _drug_pattern()
    match = pattern.search(" ".join(text.split()))
    return generic[" ".join(match.group(1).lower().split())] if match else None
