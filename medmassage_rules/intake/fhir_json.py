"""Reading FHIR JSON: the resource types of FHIR R4, and a Bundle parsed one entry at a time.

A Synthea bundle of a long record holds a hundred thousand entries (tens of megabytes).
Parsed whole, it becomes millions of Python objects - many times the file in memory, and a
garbage collector scanning them over and over. :func:`stream_bundle` parses the top-level
object itself and hands each ``entry`` element to a callback as soon as it is parsed, so only
one entry's objects live at a time; the callback keeps the few fields it needs. Duplicate keys
and NaN / Infinity are refused as :func:`medmassage_rules.files.reading.parse_json` refuses them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# FHIR R4 (4.0.1) and R4B (4.3.0) resource types: a type outside them is a typo or not FHIR
RESOURCE_TYPES = frozenset("""
Account ActivityDefinition AdministrableProductDefinition AdverseEvent AllergyIntolerance Appointment
AppointmentResponse AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement
CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Citation Claim ClaimResponse ClinicalImpression
ClinicalUseDefinition CodeSystem Communication CommunicationRequest CompartmentDefinition Composition ConceptMap
Condition Consent Contract Coverage CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device
DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference
EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition
Evidence EvidenceReport EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal
GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization ImmunizationEvaluation
ImmunizationRecommendation ImplementationGuide Ingredient InsurancePlan Invoice Library Linkage List Location
ManufacturedItemDefinition Measure MeasureReport Media Medication MedicationAdministration MedicationDispense
MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct MedicinalProductAuthorization
MedicinalProductContraindication MedicinalProductDefinition MedicinalProductIndication MedicinalProductIngredient
MedicinalProductInteraction MedicinalProductManufactured MedicinalProductPackaged MedicinalProductPharmaceutical
MedicinalProductUndesirableEffect MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder
NutritionProduct Observation ObservationDefinition OperationDefinition OperationOutcome Organization
OrganizationAffiliation PackagedProductDefinition Parameters Patient PaymentNotice PaymentReconciliation Person
PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse
RegulatedAuthorization RelatedPerson RequestGroup ResearchDefinition ResearchElementDefinition ResearchStudy
ResearchSubject RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen
SpecimenDefinition StructureDefinition StructureMap Subscription SubscriptionStatus SubscriptionTopic Substance
SubstanceDefinition SubstanceNucleicAcid SubstancePolymer SubstanceProtein SubstanceReferenceInformation
SubstanceSourceMaterial SubstanceSpecification SupplyDelivery SupplyRequest Task TerminologyCapabilities TestReport
TestScript ValueSet VerificationResult VisionPrescription
""".split())

_SPACE = re.compile(r"[ \t\n\r]*")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # rare: find the key for the message
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a case may use")


_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_STREAMED = object()  # in place of an entry array handed out element by element
_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)


def loads(raw: bytes | str) -> Any:
    """One JSON document (a line of NDJSON) as :func:`stream_bundle` parses one: a ValueError or RecursionError."""
    return _DECODER.decode(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match is not None else at


def _expect(text: str, at: int, what: str) -> None:
    if text[at:at + 1] != what:
        raise json.JSONDecodeError(f"Expecting {what!r}", text, at)


def stream_bundle(text: str, on_entry: Callable[[int, Any], None]) -> Any:
    """Parse a JSON document, calling ``on_entry(i, value)`` for each element of a top-level ``entry`` array.

    Returns the top-level object without the ``entry`` array it handed out (an ``entry`` that is
    not an array is left in it), or the whole value when the document is not an object. Raises
    ValueError (json.JSONDecodeError with the line and column where it can) for text that is
    not JSON, a repeated key, NaN or Infinity; RecursionError for a document nested too deeply.
    """
    at = _skip(text, 0)
    if text[at:at + 1] != "{":
        return _DECODER.decode(text)
    fields: dict[str, Any] = {}
    at = _skip(text, at + 1)
    if text[at:at + 1] == "}":
        at += 1
    else:
        while True:
            _expect(text, at, '"')
            key, at = _scanstring(text, at + 1)
            at = _skip(text, at)
            _expect(text, at, ":")
            at = _skip(text, at + 1)
            if key in fields:
                raise ValueError(f"duplicate key {key!r}")
            if key == "entry" and text[at:at + 1] == "[":
                at = _entries(text, _skip(text, at + 1), on_entry)
                fields[key] = _STREAMED
            else:
                fields[key], at = _DECODER.raw_decode(text, at)
            at = _skip(text, at)
            if text[at:at + 1] == ",":
                at = _skip(text, at + 1)
                continue
            _expect(text, at, "}")
            at += 1
            break
    if _skip(text, at) != len(text):
        raise json.JSONDecodeError("Extra data", text, _skip(text, at))
    if fields.get("entry") is _STREAMED:
        del fields["entry"]
    return fields


def _entries(text: str, at: int, on_entry: Callable[[int, Any], None]) -> int:
    """Parse the elements of an array starting at ``at`` (past its ``[``); returns the index past its ``]``."""
    if text[at:at + 1] == "]":
        return at + 1
    number = 0
    while True:
        value, at = _DECODER.raw_decode(text, at)
        on_entry(number, value)
        number += 1
        at = _skip(text, at)
        if text[at:at + 1] == ",":
            at = _skip(text, at + 1)
            continue
        _expect(text, at, "]")
        return at + 1
