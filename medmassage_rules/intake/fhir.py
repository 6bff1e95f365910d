"""FHIR R4 import: one patient's resources -> one case file (case-format §5, §6; `medmassage import fhir`).

The resources are read through the light projection of :mod:`.fhir_projection` (only the fields
used, each checked as it is read; a field the import cannot read refuses the bundle with one
line naming it), so a bundle, the NDJSON files of a Bulk Data export and a CDS Hooks prefetch
all give the same case for the same data. Then:

- Patient: the case id and the age at the as-of date (by default the start of the latest
  Encounter: generated bundles carry shifted dates) and the sex; the case's ``as_of``.
- Condition: the problems active on the as-of date (clinicalStatus active, recurrence or
  relapse, or resolved only after that date; not refuted or entered in error; begun by then and
  not abated by then). An ICD-10-CM coding is used as it is; a SNOMED CT coding goes through
  rules/intake/snomed-map.yaml to an ICD-10-CM code. A code the knowledge base maps to a history
  item becomes history, any other a diagnosis (a valid code it does not cover is then listed as
  not covered by the plan), with its onset as ``onset_days`` and its side from the code, from
  ``bodySite`` (a SNOMED CT laterality qualifier or the words left / right / bilateral) or from
  the SNOMED CT concept's name; a problem of a limb or joint without a side is named in a note.
  Toward safety (docs/ehr.md): an unconfirmed clot is ``suspected_dvt``; a malignancy over by
  then is history ``active: false``; a pregnancy ended within 42 days is ``postpartum``; a
  fracture, operation or postpartum state gets ``days_since`` from its onset.
- MedicationStatement / MedicationRequest: every active, intended or on-hold medication (and,
  toward safety, one of status unknown, or stopped only after the as-of date), by an ATC coding,
  by every drug of rules/intake/medications.yaml named in its text (a combination names several),
  by its text, or by its RxNorm code; a medicationReference is resolved to a contained or
  recorded Medication (:mod:`.fhir_medications`); a request's ``authoredOn`` is kept as
  ``ordered`` (the latest when a drug is ordered twice).
- Observation by LOINC: the latest platelet count (777-3, 26515-7), body temperature
  (8310-5; oral, rectal, tympanic, axillary) and blood pressure (panel 85354-9 or 55284-4,
  components 8480-6 and 8462-4, from one reading), as :mod:`.fhir_observations` reads them;
  the pregnancy status (82810-3) with the gestational age (49051-6, 11884-4, 18185-9) as
  history ``pregnancy`` with its weeks (:mod:`.fhir_pregnancy`).
- ServiceRequest: its reason codes as conditions, its notes as comments in the case file.

What cannot be mapped is returned as one line each for the command to print on stderr.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ..errors import CaseError, Problem
from ..files.reading import read_bytes
from ..kb.vocabulary import Vocabulary
from .fhir_case import (
    ICD10CM,
    MAX_AGE,
    MAX_DAYS,
    MAX_DIAGNOSES,
    MAX_HISTORY,
    MAX_LINES,
    MAX_MEDICATIONS,
    STALE_ORDER_DAYS,
    Imported,
    case_from_resources,
    latest_encounter,
    load_snomed_map,
)
from .fhir_json import stream_bundle
from .fhir_kept import Kept, TooManyResources
from .fhir_projection import OBSERVATION_CODES, Projected, ProjectionError, bundle_entry

# The case built from the resources and its bounds (fhir_case) are named here too: the other doors
# (bulk export, CDS Hooks, the web upload) and the tests take them from the import.
__all__ = ["ICD10CM", "MAX_AGE", "MAX_BUNDLE_BYTES", "MAX_DAYS", "MAX_DIAGNOSES", "MAX_HISTORY", "MAX_LINES",
           "MAX_MEDICATIONS", "OBSERVATION_CODES", "STALE_ORDER_DAYS", "Imported", "case_from_resources",
           "import_bundle", "latest_encounter", "load_snomed_map", "read_bundle", "refused"]

MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def refused(source: str, error: ProjectionError) -> CaseError:
    """A resource field the import cannot read, as the one line that refuses the input."""
    return CaseError([Problem(source, error.path, "not_a_bundle", f"not a valid FHIR R4 Bundle: {error.message}",
                              error.value)])


def read_bundle(path: Path) -> list[Projected]:
    """Read a FHIR Bundle file and project its resources; any problem is one CaseError line naming the file.

    Only a regular file is read (a pipe or a device is refused before a byte is read, its size
    before it is read), and it becomes an input no output of the command may replace. The
    entries are projected one at a time as they are parsed (:func:`.fhir_json.stream_bundle`),
    and only what the case can use is kept (:class:`.fhir_kept.Kept`).
    """
    source = str(path)
    data = read_bytes(path, MAX_BUNDLE_BYTES, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(source, "", "not_utf8", f"not a FHIR bundle: not UTF-8 text (byte {exc.start})")]) \
            from None
    del data
    kept = Kept()

    def entry(number: int, raw: Any) -> None:
        found = bundle_entry(raw, f"entry[{number}]")
        if found is not None:
            kept.add(found)

    try:
        top = stream_bundle(text, entry)
    except ProjectionError as exc:
        raise refused(source, exc) from None
    except TooManyResources as exc:
        raise CaseError([Problem(source, exc.path, "too_many", str(exc))]) from None
    except (ValueError, RecursionError) as exc:
        raise CaseError([Problem(source, "", "invalid_json", f"not a FHIR bundle: invalid JSON ({exc})")]) from None
    if not isinstance(top, dict) or top.get("resourceType") != "Bundle":
        found = top.get("resourceType") if isinstance(top, dict) else type(top).__name__
        raise CaseError([Problem(source, "resourceType", "not_a_bundle", "not a FHIR Bundle", found)])
    if "entry" in top and top["entry"] is not None:  # an entry that is not an array
        raise refused(source, ProjectionError("entry", "expected an array", top["entry"]))
    return kept.resources()


def import_bundle(path: str | Path, vocab: Vocabulary, as_of: date | None = None) -> tuple[Imported, date]:
    """Build a case (as plain data) from a bundle file; returns it with the as-of date used."""
    path = Path(path)
    return case_from_resources(read_bundle(path), vocab, as_of, str(path))
