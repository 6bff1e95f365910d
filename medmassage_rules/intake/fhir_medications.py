"""The medications of a FHIR record as a case holds them (case-format §5; the safety additions of docs/ehr.md).

A MedicationStatement or MedicationRequest is kept when it was active, intended or on hold on
the as-of date - and, toward safety, when its status is ``unknown`` (with a note) or when it was
stopped or completed only after that date (its effectivePeriod ends later). The drug is read
from its medicationCodeableConcept, else from the Medication its medicationReference points to
(contained or in the record), else from the reference's display. A combination product keeps
every drug of the table it names; a coding with no text keeps its code as the name
("RxNorm 855332": listed as not checked) with a "not mapped" line.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ..errors import CaseError
from .fhir_projection import Concept, Projected
from .fhir_values import MAX_NAME, case_text, drugs_named, label
from .medications import is_atc

ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ACTIVE_MEDICATION = {"active", "intended", "on-hold"}
ENDED = {"stopped", "completed"}  # active still on the as-of date when the effective period ends after it
MAX_MEDICATIONS = 100


def _code_name(concept: Concept) -> str:
    """A name for a medication coded without any text: its RxNorm (else first) code."""
    rxnorm = next((c.code for c in concept.codings if c.system == RXNORM and c.code), None)
    if rxnorm is not None:
        return f"RxNorm {rxnorm}"
    return next((f"code {c.code}" for c in concept.codings if c.code), "")


class MedicationsMixin:
    """The medication half of the case builder (:class:`.fhir_case._Builder`)."""

    as_of: date
    medications: dict[str, Any]
    known_medications: dict[str, Concept]

    if TYPE_CHECKING:  # the builder's own
        def unmapped(self, line: str) -> None: ...
        def advise(self, line: str) -> None: ...
        def too_many(self, field_name: str, limit: int, resource: Projected, value: str) -> CaseError: ...

    def _taken(self, resource: Projected, kind: str) -> bool:
        """Taken on the as-of date, by the status and the dates."""
        if resource.start is not None and resource.start > self.as_of:
            return False  # prescribed after the day the case describes
        status = resource.status
        if status in ACTIVE_MEDICATION:
            return True
        if status in ENDED and resource.end is not None and resource.end > self.as_of:
            return True  # stopped only after the as-of date: taken on it
        if status == "unknown":
            self.advise(f"{kind} {label(resource.id or '')}: status unknown - kept (it may be taken); "
                        f"confirm with the patient")
            return True
        return False

    def medication(self, resource: Projected, kind: str) -> None:
        if not self._taken(resource, kind):
            return
        concept = resource.code
        if concept is None and resource.medication_ref is not None:
            concept = self.known_medications.get(resource.medication_ref)
        if concept is None:
            if not resource.medication_display:
                self.unmapped(f"{kind} {label(resource.id or '')}: a medication given only by a reference the "
                              f"record does not resolve")
                return
            self._add_medication(resource, resource.medication_display, None, kind)
            return
        atc = next((c.code for c in concept.codings if c.system == ATC and c.code), None)
        if atc is not None and not is_atc(atc):
            self.unmapped(f"{kind} {label(concept.label)}: {label(atc)} is not an ATC code (left out)")
            atc = None
        text = concept.label
        if not text.strip():
            text = _code_name(concept)
            if not text:
                self.unmapped(f"{kind} {label(resource.id or '')}: a medication with no text and no code (left out)")
                return
            if atc is None:
                self.unmapped(f"{kind} {text}: a code only, no name - kept as {text!r}, not checked")
        self._add_medication(resource, text, atc, kind)

    def _add_medication(self, resource: Projected, text: str, atc: str | None, kind: str) -> None:
        generics = drugs_named(text)  # the text is cut before it is matched; a combination names several
        if len(generics) > 1:
            for generic in generics:
                self._add_one(resource, generic, None, kind, True)
            return
        name = generics[0] if generics else case_text(text, MAX_NAME)
        if name:
            self._add_one(resource, name, atc, kind, bool(generics))

    def _add_one(self, resource: Projected, name: str, atc: str | None, kind: str, known_drug: bool) -> None:
        ordered = resource.ordered
        key = name.lower()
        known = self.medications.get(key)
        if known is None and len(self.medications) >= MAX_MEDICATIONS:
            raise self.too_many("medications", MAX_MEDICATIONS, resource, label(name))
        if known is None and not known_drug and atc is None and not name.startswith(("RxNorm ", "code ")):
            self.unmapped(f"{kind} {label(name)}: no ATC code and no drug of the table named (kept by name)")
        entry: dict[str, Any] = {"name": name}
        if atc:
            entry["atc"] = atc
        if ordered is not None:
            entry["ordered"] = ordered.isoformat()
        if known is None:
            self.medications[key] = entry
        elif ordered is not None and (not isinstance(known, dict) or known.get("ordered", "") < entry["ordered"]):
            known["ordered"] = entry["ordered"]  # the latest order of a drug ordered again
