"""Codes mean the same wherever they are entered (clinical-v2.1 §8).

A case may give an ICD-10-CM code under ``diagnoses`` that the map reads as a history item
(E11.42 diabetic polyneuropathy: peripheral_neuropathy), under ``history`` one it reads as a
condition, and in either a code of current drug use it reads as a medication class (Z79.01:
anticoagulant). Before a case is validated, :func:`sort_entries` counts each such entry as what its code
means, remembers where each entry stood in the file (so a problem names its own path) and says how
it was read (the plan's advisories repeat it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .codes import Code, load_code_map, load_index

_DIAGNOSIS_ONLY = ("acuity", "severity", "onset_days")
_HISTORY_ONLY = ("days_since", "fragility_fracture", "active", "weeks", "high_risk", "decompensated")
HISTORY_ITEM, CONDITION, INACTIVE_CONDITION = "history item", "condition", "condition, inactive: not counted,"
MEDICATION = "a medication of the class"   # a code of current drug use (Z79.01): counted as a listed medication
Origin = tuple[str, int]           # (section, index) of an entry in the case file
ReadAs = tuple[str, str, str, str, str]   # (section, code, description, kind, term)


@dataclass(frozen=True)
class SortedEntries:
    """A case's diagnoses and history with every code-only entry where its meaning belongs."""

    diagnoses: list[Any]
    history: list[Any]
    diagnosis_origin: list[Origin]
    history_origin: list[Origin]
    not_covered: list[tuple[str, str]]
    read_as: list[ReadAs]


def _code_only(entry: Any, term_key: str) -> bool:
    return isinstance(entry, dict) and term_key not in entry and isinstance(entry.get("icd10"), str)


def _as_medication(out: SortedEntries, section: str, code: Code, classes: tuple[str, ...]) -> bool:
    """A code that records current use of a drug class (Z79.01 long-term anticoagulant use) counts as a
    medication of each class: the case model reads it from ``read_as`` (Case.medication_pairs)."""
    out.read_as.extend((section, code.code, code.description, MEDICATION, cls) for cls in classes)
    return bool(classes)


def sort_entries(diagnoses: Any, history: Any) -> SortedEntries | None:
    """Count each code as what it means, whichever section it is entered in (clinical-v2.1 §8).

    Under ``diagnoses``, a code that maps to a history item counts as that item: an entry given
    only by such a code moves to the history (``onset_days`` becomes ``days_since``; an acute heart
    failure is a decompensated one), and a diagnosis whose code maps to a condition too, or which
    gives its condition, stays and the item is counted beside it. Under ``history``, a code that
    maps to a condition counts as a diagnosis the same way (``days_since`` becomes ``onset_days``;
    one marked ``active: false`` is not counted). A code-only entry whose code records current use
    of a drug class (the map's ``medications``: Z79.01, Z79.52 ...) counts, in either section, as a
    medication of that class (``MEDICATION`` in ``read_as``). A valid code that maps to nothing goes to
    ``not_covered``; an invalid one stays for the case's validation to report. None when neither
    section holds a code.
    """
    dx = diagnoses if isinstance(diagnoses, list) else []
    hx = history if isinstance(history, list) else []
    if not any(isinstance(e, dict) and isinstance(e.get("icd10"), str) for e in (*dx, *hx)):
        return None
    index, code_map = load_index(), load_code_map()
    out = SortedEntries([], [], [], [], [], [])
    extra_dx: list[tuple[Any, Origin]] = []
    extra_hx: list[tuple[Any, Origin]] = []

    def code_of(entry: Any) -> Code | None:
        return index.get(entry["icd10"]) if isinstance(entry, dict) and isinstance(entry.get("icd10"), str) else None

    for i, entry in enumerate(dx):
        code = code_of(entry)
        condition = code_map.condition(code) if code is not None else None
        item = code_map.history_item(code) if code is not None else None
        if code is None or condition is not None or not _code_only(entry, "condition"):
            out.diagnoses.append(entry)
            out.diagnosis_origin.append(("diagnoses", i))
            if code is not None and item is not None:  # the code means this item too: counted beside it
                out.read_as.append(("diagnoses", code.code, code.description, HISTORY_ITEM, item.term))
                extra_hx.append(({"icd10": entry["icd10"]}, ("diagnoses", i)))
        elif item is not None:
            out.read_as.append(("diagnoses", code.code, code.description, HISTORY_ITEM, item.term))
            as_item = {k: v for k, v in entry.items() if k not in _DIAGNOSIS_ONLY}
            if "onset_days" in entry:
                as_item["days_since"] = entry["onset_days"]
            if item.term == "heart_failure" and entry.get("acuity") == "acute":
                as_item["decompensated"] = True  # acute heart failure is decompensated (the safe side)
            extra_hx.append((as_item, ("diagnoses", i)))
        elif not _as_medication(out, "diagnoses", code, code_map.medication_classes(code)):
            out.not_covered.append((code.code, code.description))
    for i, entry in enumerate(hx):
        code = code_of(entry) if _code_only(entry, "item") else None
        condition = code_map.condition(code) if code is not None else None
        item = code_map.history_item(code) if code is not None else None
        if code is None or item is not None:
            out.history.append(entry)
            out.history_origin.append(("history", i))
        elif condition is None and not _as_medication(out, "history", code, code_map.medication_classes(code)):
            out.not_covered.append((code.code, code.description))
        if code is None or condition is None:
            continue
        if entry.get("active") is False:
            out.read_as.append(("history", code.code, code.description, INACTIVE_CONDITION, condition.term))
            continue
        out.read_as.append(("history", code.code, code.description, CONDITION, condition.term))
        if item is not None:  # kept as the item; the condition is counted beside it
            extra_dx.append(({"icd10": entry["icd10"]}, ("history", i)))
            continue
        as_dx = {k: v for k, v in entry.items() if k not in _HISTORY_ONLY}
        if "days_since" in entry:
            as_dx["onset_days"] = entry["days_since"]
        extra_dx.append((as_dx, ("history", i)))
    for entry, origin in extra_dx:
        out.diagnoses.append(entry)
        out.diagnosis_origin.append(origin)
    for entry, origin in extra_hx:
        out.history.append(entry)
        out.history_origin.append(origin)
    return out
