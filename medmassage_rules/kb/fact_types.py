"""The experta fact types: what a case says (input) and what rules conclude (derived).

Every fact carries every field of its kind (None when absent), so a rule pattern on a
field never fails for a missing key. ``FIELDS`` is the registry rule files are checked
against; ``DOMAINS`` names the vocabulary section a field's values come from.
"""

from __future__ import annotations

from typing import Any

from .light_fact import Fact


class Diagnosis(Fact):
    """A physician's diagnosis (input)."""


class Finding(Fact):
    """A sign or symptom (input)."""


class History(Fact):
    """A comorbidity or history item (input)."""


class Medication(Fact):
    """A medication and its class (input)."""


class Patient(Fact):
    """Who the patient is (input)."""


class Labs(Fact):
    """Laboratory values (input)."""


class Vitals(Fact):
    """Vital signs (input)."""


class Clearance(Fact):
    """A documented clearance (input): ``name``, and ``scope`` (what it was given for; None for a bare id)."""


class Request(Fact):
    """A modality the prescription requests (input)."""


class Exclusion(Fact):
    """A modality the prescription rules out (input)."""


class Focus(Fact):
    """An area the prescription asks to prioritise (input)."""


class Mechanism(Fact):
    """A mechanism indicated by a diagnosis or finding (derived)."""


class Candidate(Fact):
    """A candidate target of the plan (derived)."""


class Proposal(Fact):
    """A modality a rule proposes (derived)."""


class Block(Fact):
    """A veto: all treatment, a modality or an area (derived)."""


class Cap(Fact):
    """A pressure cap, on the whole body or one area (derived)."""


class Requirement(Fact):
    """A clearance the case needs but does not document (derived)."""


class Referral(Fact):
    """A referral to another professional (derived)."""


class Advisory(Fact):
    """A note for the therapist (derived)."""


class Limit(Fact):
    """A ceiling on session minutes (derived)."""


class Restrict(Fact):
    """On an area (and side), only these modalities may be delivered; none when empty (derived)."""


class Zone(Fact):
    """Part of an edematous limb, a drainage zone: no drainage by another name there (derived)."""


INPUT_KINDS: dict[str, type[Fact]] = {
    "diagnosis": Diagnosis, "finding": Finding, "history": History, "medication": Medication,
    "patient": Patient, "labs": Labs, "vitals": Vitals, "clearance": Clearance,
    "request": Request, "exclusion": Exclusion, "focus": Focus,
}
DERIVED_KINDS: dict[str, type[Fact]] = {
    "mechanism": Mechanism, "candidate": Candidate, "proposal": Proposal, "block": Block,
    "cap": Cap, "requirement": Requirement, "referral": Referral, "advisory": Advisory,
    "limit": Limit, "restrict": Restrict, "zone": Zone,
}
KIND_OF: dict[type[Fact], str] = {cls: kind for kind, cls in {**INPUT_KINDS, **DERIVED_KINDS}.items()}

# The fields a rule may test, per input kind (index/cf are bookkeeping, not testable).
FIELDS: dict[str, tuple[str, ...]] = {
    "diagnosis": ("condition", "side", "acuity", "severity", "area", "group", "onset_days", "spinal",
                  "headache", "injury", "acuity_recorded"),
    "finding": ("finding", "area", "target", "site", "group", "side", "hours_since"),
    "history": ("item", "area", "side", "group", "fragility_fracture", "active", "days_since",
                "weeks", "high_risk", "decompensated"),
    "medication": ("name", "class"),
    "patient": ("age", "frail"),
    "labs": ("platelets_k",),
    "vitals": ("temperature_c", "systolic", "diastolic"),
    "clearance": ("name", "scope"),
    "request": ("modality",),
    "exclusion": ("modality",),
    "focus": ("area",),
}
# Which vocabulary section a field's literal values must come from.
DOMAINS: dict[str, str] = {
    "condition": "conditions", "side": "sides", "acuity": "acuities", "severity": "severities",
    "area": "areas", "group": "area_groups", "finding": "findings", "target": "sites",
    "site": "sites", "item": "history", "class": "medication_classes", "modality": "modalities",
    "scope": "clearance_scopes",
}
NUMERIC_FIELDS = frozenset({"onset_days", "days_since", "hours_since", "weeks", "age", "platelets_k",
                            "temperature_c", "systolic", "diastolic"})
BOOLEAN_FIELDS = frozenset({"fragility_fracture", "active", "high_risk", "decompensated", "frail", "spinal",
                            "headache", "injury", "acuity_recorded"})

# The field of each fact kind that names what the fact is about.
SUBJECT_FIELD: dict[str, str] = {
    "diagnosis": "condition", "finding": "finding", "history": "item", "medication": "class",
    "clearance": "name", "request": "modality", "exclusion": "modality", "focus": "area",
}


def fact_kind(fact: Any) -> str:
    """The kind of a fact (``diagnosis``, ``proposal`` ...), as rule patterns name it."""
    return KIND_OF[type(fact)]
