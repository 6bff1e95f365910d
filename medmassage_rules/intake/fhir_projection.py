"""A light projection of FHIR R4 resources: only the fields the import reads, checked as it reads them.

Validating a whole Synthea bundle with the ``fhir.resources`` models takes seconds; the import
needs a dozen fields of five resource types. :func:`project` turns one resource (parsed JSON)
into a :class:`Projected` record of those fields, checking the type and shape of each field it
takes (a date that is not a FHIR date, a coding that is not an object ...): a resource the
import cannot read is one :class:`ProjectionError` naming the field path. Fields it does not
read are not looked at. The same projection serves a bundle file (``import fhir``), the NDJSON
files of a Bulk Data export (``import fhir-bulk``) and the prefetch of a CDS Hooks request.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from .fhir_json import RESOURCE_TYPES

# FHIR date / dateTime: a year, optionally a month and a day, optionally a time with a zone
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?$")
# the resource types the import reads; any other type is skipped whole (not looked at)
READ_TYPES = frozenset({"Patient", "Condition", "MedicationStatement", "MedicationRequest", "Observation",
                        "Encounter", "ServiceRequest", "Medication", "Procedure"})
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR R4 id: a Patient's becomes the case id
GENDERS = frozenset({"male", "female", "other", "unknown"})  # AdministrativeGender, a required binding
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
PLATELETS = ("777-3", "26515-7")
TEMPERATURE = ("8310-5", "8331-1", "8332-9", "8333-7", "8328-7")  # body; oral, rectal, tympanic, axillary
BP_PANELS = ("85354-9", "55284-4")
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
PREGNANCY_STATUS = "82810-3"  # US Core pregnancy status: SNOMED CT 77386006 pregnant, 60001007 not pregnant
GESTATIONAL_AGE = ("49051-6", "11884-4", "18185-9")  # in weeks; estimated; gestational age
OBSERVATION_CODES = (*PLATELETS, *TEMPERATURE, *BP_PANELS, SYSTOLIC, DIASTOLIC, PREGNANCY_STATUS,
                     *GESTATIONAL_AGE)  # every LOINC code read
MAX_KEPT = 200_000  # resources a case is built from (fhir_kept); a lifetime record holds a few thousand
MAX_SHARED = 200  # strings up to this long are interned: a record repeats its systems, codes and displays
MAX_QUANTITY = 1e9  # a measured value beyond this is not a measurement (and a 400-digit integer is no float)


class ProjectionError(ValueError):
    """A field the import reads is not what FHIR R4 says it is."""

    def __init__(self, path: str, message: str, value: Any = None):
        self.path = path
        self.message = message
        self.value = value
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True, slots=True)
class Coding:
    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class Concept:
    """A CodeableConcept: its codings and text."""

    codings: tuple[Coding, ...] = ()
    text: str = ""

    @property
    def label(self) -> str:
        """The text, else the first display."""
        return self.text or next((c.display for c in self.codings if c.display), "")

    def codes(self, system: str) -> tuple[str, ...]:
        return tuple(c.code for c in self.codings if c.system == system and c.code)

    @property
    def first_code(self) -> str | None:
        return next((c.code for c in self.codings if c.code), None)


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float | None
    unit: str


@dataclass(frozen=True, slots=True)
class Projected:
    """The fields of one resource the import reads (None or empty where the resource has none)."""

    type: str
    id: str | None
    where: str = ""                         # its field path in the input (``entry[3].resource``)
    subject: str | None = None              # the id of the Patient it is about
    status: str | None = None               # status, or a Condition's clinicalStatus code
    verification: str | None = None         # a Condition's verificationStatus code
    code: Concept | None = None             # Condition / Observation / ServiceRequest / Procedure code, the medication
    category: Concept | None = None         # a Procedure's category
    medication_display: str | None = None   # a medicationReference's display
    medication_ref: str | None = None       # the id of the Medication a medicationReference points to
    body_sites: tuple[Concept, ...] = ()
    start: date | None = None               # onset, authoredOn, effective, period start, issued, performed
    end: date | None = None                 # a Condition's abatement, a Procedure's performedPeriod.end
    ordered: date | None = None             # a MedicationRequest's authoredOn
    at: datetime | None = None              # an Observation's effective time, in full (a date: its midnight UTC)
    birth_date: date | None = None
    gender: str | None = None
    quantity: Quantity | None = None
    value: Concept | None = None            # an Observation's valueCodeableConcept
    components: tuple[tuple[Concept, Quantity | None], ...] = ()
    reasons: tuple[Concept, ...] = ()
    notes: tuple[str, ...] = ()


def fhir_date(value: Any, path: str) -> date | None:
    """A FHIR date or dateTime as the day it names (a year or a month: its first day)."""
    if value is None:
        return None
    match = _DATE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ProjectionError(path, "not a FHIR date", value)
    year, month, day = match.groups()
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ProjectionError(path, "not a FHIR date", value) from None


def fhir_instant(value: Any, path: str) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware date-time (no time: midnight UTC; no zone: UTC)."""
    day = fhir_date(value, path)
    if day is None:
        return None
    moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    if "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return moment  # checked as a FHIR date above: at least its day
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _object(value: Any, path: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProjectionError(path, "expected an object", value)
    return value


def _array(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProjectionError(path, "expected an array", value)
    return value


def _string(value: Any, path: str) -> str | None:
    """A string field; a short one kept once however often the record repeats it (systems, codes, statuses)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProjectionError(path, "expected a string", value)
    return sys.intern(value) if len(value) <= MAX_SHARED else value


def concept(value: Any, path: str) -> Concept | None:
    """A CodeableConcept."""
    data = _object(value, path)
    if data is None:
        return None
    codings = []
    for i, raw in enumerate(_array(data.get("coding"), f"{path}.coding")):
        where = f"{path}.coding[{i}]"
        coding = _object(raw, where) or {}
        codings.append(Coding(_string(coding.get("system"), f"{where}.system") or "",
                              _string(coding.get("code"), f"{where}.code") or "",
                              _string(coding.get("display"), f"{where}.display") or ""))
    return Concept(tuple(codings), _string(data.get("text"), f"{path}.text") or "")


def _concepts(value: Any, path: str) -> tuple[Concept, ...]:
    return tuple(c for i, raw in enumerate(_array(value, path)) if (c := concept(raw, f"{path}[{i}]")) is not None)


def _gender(value: Any, path: str) -> str | None:
    gender = _string(value, path)
    if gender is not None and gender not in GENDERS:
        raise ProjectionError(path, "not a FHIR gender (male, female, other or unknown)", gender)
    return gender


CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_STATUS_CODES = {CLINICAL_STATUS: frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"}),
                 VERIFICATION_STATUS: frozenset({"unconfirmed", "provisional", "differential", "confirmed", "refuted",
                                                 "entered-in-error"})}


def _status_code(value: Any, path: str, system: str) -> str | None:
    """The HL7 status code of a Condition's status concept, wherever its coding sits among the codings.

    A coding of the HL7 code system wins; else a coding with no system whose code is one of that
    system's codes. A local coding is never read as a status (a status not read leaves the problem in).
    """
    found = concept(value, path)
    if found is None:
        return None
    codes = _STATUS_CODES[system]
    systems = {system, system.replace("terminology.hl7.org/CodeSystem", "hl7.org/fhir")}  # and the STU3 system
    return next((c.code for c in found.codings if c.system in systems and c.code), None) or \
        next((c.code for c in found.codings if not c.system and c.code in codes), None)


def quantity(value: Any, path: str) -> Quantity | None:
    data = _object(value, path)
    if data is None:
        return None
    number = data.get("value")
    if number is not None and (isinstance(number, bool) or not isinstance(number, (int, float))):
        raise ProjectionError(f"{path}.value", "expected a number", number)
    # an integer is compared as it is: no float() of a 400-digit integer
    if number is not None and (isinstance(number, float) and not math.isfinite(number) or abs(number) > MAX_QUANTITY):
        raise ProjectionError(f"{path}.value", f"a number out of range (beyond {MAX_QUANTITY:,.0f})",
                              number)
    unit = _string(data.get("code"), f"{path}.code") or _string(data.get("unit"), f"{path}.unit") or ""
    return Quantity(float(number) if number is not None else None, unit)


def reference_id(value: Any, path: str) -> str | None:
    """The id a Reference points to: ``Patient/123``, ``urn:uuid:123`` or a full URL all give ``123``."""
    data = _object(value, path)
    if data is None:
        return None
    ref = _string(data.get("reference"), f"{path}.reference")
    if not ref:
        return None
    found = ref.rsplit(":", 1)[-1] if ref.startswith("urn:") else ref.rstrip("/").rsplit("/", 1)[-1]
    return sys.intern(found) if len(found) <= MAX_SHARED else found


def _start_of(resource: dict[str, Any], at: str, *fields: str) -> date | None:
    for name in fields:
        if name.lower().endswith("period"):
            period = _object(resource.get(name), f"{at}{name}")
            if period is not None and (day := fhir_date(period.get("start"), f"{at}{name}.start")) is not None:
                return day
        elif (day := fhir_date(resource.get(name), f"{at}{name}")) is not None:
            return day
    return None


def _contained_medication(value: Any, path: str, wanted: str) -> Concept | None:
    """The code of the contained Medication of id ``wanted``."""
    for i, raw in enumerate(_array(value, path)):
        item = _object(raw, f"{path}[{i}]") or {}
        if item.get("resourceType") == "Medication" and item.get("id") == wanted:
            return concept(item.get("code"), f"{path}[{i}].code")
    return None


def project(resource: Any, path: str = "") -> Projected | None:
    """The projection of one resource, or None for a type the import does not read.

    Raises ProjectionError (with the field path under ``path``) for a field it reads that is
    malformed, or for something that is not a resource at all.
    """
    data = _object(resource, path or "resource")
    if data is None:
        raise ProjectionError(path or "resource", "expected a resource", resource)
    kind = data.get("resourceType")
    if not isinstance(kind, str):
        raise ProjectionError(f"{path}.resourceType" if path else "resourceType", "expected a resource type", kind)
    at = f"{path}." if path else ""
    if kind not in READ_TYPES:
        if kind not in RESOURCE_TYPES:
            raise ProjectionError(f"{at}resourceType", "not a FHIR R4 resource type", kind)
        return None
    rid = _string(data.get("id"), f"{at}id")
    subject = reference_id(data.get("subject"), f"{at}subject")
    if kind == "Patient":
        if rid is not None and not _FHIR_ID.fullmatch(rid):
            raise ProjectionError(f"{at}id", "not a FHIR id (letters, digits, '-' and '.', at most 64)", rid)
        return Projected(kind, rid, path, subject=rid, birth_date=fhir_date(data.get("birthDate"), f"{at}birthDate"),
                         gender=_gender(data.get("gender"), f"{at}gender"))
    if kind == "Encounter":
        return Projected(kind, rid, path, subject=subject, status=_string(data.get("status"), f"{at}status"),
                         start=_start_of(data, at, "period"))
    if kind == "Condition":
        return Projected(kind, rid, path, subject=subject,
                         status=_status_code(data.get("clinicalStatus"), f"{at}clinicalStatus", CLINICAL_STATUS),
                         verification=_status_code(data.get("verificationStatus"), f"{at}verificationStatus",
                                                   VERIFICATION_STATUS),
                         code=concept(data.get("code"), f"{at}code"),
                         body_sites=_concepts(data.get("bodySite"), f"{at}bodySite"),
                         start=fhir_date(data.get("onsetDateTime"), f"{at}onsetDateTime"),
                         end=fhir_date(data.get("abatementDateTime"), f"{at}abatementDateTime"))
    if kind == "Medication":
        return Projected(kind, rid, path, code=concept(data.get("code"), f"{at}code"))
    if kind in ("MedicationStatement", "MedicationRequest"):
        reference = _object(data.get("medicationReference"), f"{at}medicationReference")
        authored = fhir_date(data.get("authoredOn"), f"{at}authoredOn")
        code = concept(data.get("medicationCodeableConcept"), f"{at}medicationCodeableConcept")
        target = _string((reference or {}).get("reference"), f"{at}medicationReference.reference") or ""
        if code is None and target.startswith("#"):  # a contained Medication
            code = _contained_medication(data.get("contained"), f"{at}contained", target[1:])
        period = _object(data.get("effectivePeriod"), f"{at}effectivePeriod") or {}
        return Projected(kind, rid, path, subject=subject, status=_string(data.get("status"), f"{at}status"),
                         code=code,
                         medication_display=_string((reference or {}).get("display"),
                                                    f"{at}medicationReference.display"),
                         medication_ref=reference_id(reference, f"{at}medicationReference")
                         if code is None and target and not target.startswith("#") else None,
                         start=authored or _start_of(data, at, "effectiveDateTime", "effectivePeriod"),
                         end=fhir_date(period.get("end"), f"{at}effectivePeriod.end"),
                         ordered=authored if kind == "MedicationRequest" else None)
    if kind == "Observation":
        components = []
        for i, raw in enumerate(_array(data.get("component"), f"{at}component")):
            where = f"{at}component[{i}]"
            part = _object(raw, where) or {}
            components.append((concept(part.get("code"), f"{where}.code") or Concept(),
                               quantity(part.get("valueQuantity"), f"{where}.valueQuantity")))
        moment = None
        for name in ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued"):
            if name == "effectivePeriod":
                period = _object(data.get(name), f"{at}{name}") or {}
                moment = fhir_instant(period.get("start"), f"{at}{name}.start")
            else:
                moment = fhir_instant(data.get(name), f"{at}{name}")
            if moment is not None:
                break
        return Projected(kind, rid, path, subject=subject, status=_string(data.get("status"), f"{at}status"),
                         code=concept(data.get("code"), f"{at}code"),
                         start=_start_of(data, at, "effectiveDateTime", "effectiveInstant", "effectivePeriod",
                                         "issued"), at=moment,
                         quantity=quantity(data.get("valueQuantity"), f"{at}valueQuantity") or  # or no unit:
                         (quantity({"value": data["valueInteger"]}, f"{at}valueInteger") if "valueInteger" in data
                          else None),
                         value=concept(data.get("valueCodeableConcept"), f"{at}valueCodeableConcept"),
                         components=tuple(components))
    if kind == "Procedure":
        performed = _object(data.get("performedPeriod"), f"{at}performedPeriod") or {}
        return Projected(kind, rid, path, subject=subject, status=_string(data.get("status"), f"{at}status"),
                         code=concept(data.get("code"), f"{at}code"),
                         category=concept(data.get("category"), f"{at}category"),
                         body_sites=_concepts(data.get("bodySite"), f"{at}bodySite"),
                         start=_start_of(data, at, "performedDateTime", "performedPeriod"),
                         end=fhir_date(performed.get("end"), f"{at}performedPeriod.end"))
    # ServiceRequest
    notes = []
    for i, raw in enumerate(_array(data.get("note"), f"{at}note")):
        text = _string((_object(raw, f"{at}note[{i}]") or {}).get("text"), f"{at}note[{i}].text")
        if text:
            notes.append(text)
    return Projected(kind, rid, path, subject=subject, status=_string(data.get("status"), f"{at}status"),
                     code=concept(data.get("code"), f"{at}code"),
                     reasons=_concepts(data.get("reasonCode"), f"{at}reasonCode"), notes=tuple(notes))


def bundle_entry(raw: Any, where: str) -> Projected | None:
    """The projected resource of one Bundle entry (``where``: its path, ``entry[3]``), or None."""
    entry = _object(raw, where) or {}
    if entry.get("resource") is None:
        return None
    return project(entry["resource"], f"{where}.resource")


def bundle_resources(data: Any, path: str = "") -> list[Projected]:
    """The projected resources of a Bundle (entries of types the import does not read are skipped)."""
    bundle = _object(data, path or "bundle") or {}
    at = f"{path}." if path else ""
    found = (bundle_entry(raw, f"{at}entry[{i}]") for i, raw in enumerate(_array(bundle.get("entry"), f"{at}entry")))
    return [resource for resource in found if resource is not None]
