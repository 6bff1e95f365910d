"""The intake form: its fields (what the knowledge base reads, as ``consult`` asks it), read into case data.

A form posts flat names (``diagnoses-0-condition``); :func:`case_data` builds the case file's
data from them - rows left blank are dropped, digits become numbers - and leaves every check to
the case validator, so a problem is the command line's own line. :func:`field_of` finds the
form field a problem's path names (``diagnoses[1].icd10`` -> ``diagnoses-1-condition``), so the
page shows each problem beside its field.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..intake.codes import is_code_shaped
from ..kb.knowledge_base import KnowledgeBase
from ..teach.rule_needs import Needs

ROWS = {"diagnoses": 3, "findings": 4, "history": 3}
MAX_FIELD_CHARS = 2000       # a longer value is cut (the validator then names it)
DIAGNOSIS_FIELDS = ("condition", "side", "acuity", "onset_days", "severity", "area")
FINDING_FIELDS = ("finding", "site", "side")
HISTORY_FIELDS = ("item", "area", "side", "days_since", "weeks")
HISTORY_FLAGS = ("high_risk", "fragility_fracture", "decompensated", "inactive")
PRESCRIPTION_LISTS = ("modalities", "exclude_modalities", "focus_areas")
_INTEGER = re.compile(r"^[+-]?\d{1,9}$")
_DECIMAL = re.compile(r"^[+-]?\d{1,9}([.,]\d{1,6})?$")
_PATH = re.compile(r"^(?P<section>[a-z_]+)(\[(?P<index>\d+)\])?(\.(?P<field>[a-z_0-9]+))?")


@dataclass(frozen=True)
class Choices:
    """The ids a form offers, from the knowledge base's vocabulary, with their labels."""

    conditions: tuple[tuple[str, str], ...]
    findings: tuple[tuple[str, str], ...]
    history: tuple[tuple[str, str], ...]
    sites: tuple[tuple[str, str], ...]
    areas: tuple[tuple[str, str], ...]
    sides: tuple[str, ...]
    acuities: tuple[str, ...]
    severities: tuple[str, ...]
    modalities: tuple[tuple[str, str], ...]
    clearances: tuple[tuple[str, str], ...]
    medications: tuple[str, ...]

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Choices:
        """The vocabulary's ids; findings and history items in the order ``consult`` screens them (what the
        rules test, red flags first), then the rest."""
        v = kb.vocabulary
        screened = [item.key for item in Needs(kb).items(kb.rules)]

        def labelled(ids: Any) -> tuple[tuple[str, str], ...]:
            return tuple((i, v.label(i)) for i in ids)

        def in_screening_order(kind: str, ids: Any) -> list[str]:
            return list(dict.fromkeys([name for k, name in screened if k == kind and name in ids] + list(ids)))
        return cls(labelled(v.conditions), labelled(in_screening_order("finding", v.findings)),
                   labelled(in_screening_order("history", v.history)),
                   labelled([*v.areas, *v.targets]), labelled(v.areas), tuple(v.sides), tuple(v.acuities),
                   tuple(v.severities), labelled(v.modalities), tuple(v.clearances.items()),
                   tuple(sorted({*v.medications, *v.medication_classes})))


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_FIELD_CHARS] if isinstance(value, str) else ""


def _number(text: str) -> Any:
    """Digits as a number; anything else as typed, for the validator to name."""
    if _INTEGER.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text.replace(",", "."))
    return text


def _ident(text: str) -> str:
    """'Carpal tunnel syndrome', 'carpal-tunnel-syndrome' -> 'carpal_tunnel_syndrome' (as ``consult`` reads ids)."""
    return re.sub(r"[\s-]+", "_", text.strip().lower())


def _list(form: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    values = getlist(name) if getlist is not None else form.get(name, [])
    values = [values] if isinstance(values, str) else values
    return [v.strip()[:MAX_FIELD_CHARS] for v in values if isinstance(v, str) and v.strip()]


def _rows(form: Mapping[str, Any], section: str, fields: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for row in range(ROWS[section]):
        values = {f: _text(form, f"{section}-{row}-{f}") for f in fields}
        flags = {f: "on" for f in HISTORY_FLAGS if section == "history" and _text(form, f"{section}-{row}-{f}")}
        if any(values.values()) or flags:
            rows.append((row, {**values, **flags}))
    return rows


def case_data(form: Mapping[str, Any], areas: Collection[str] = ()) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The case data a posted form gives, and the form row of each list entry (by section).

    A finding's site is an area when it is one of ``areas``, else a target."""
    data: dict[str, Any] = {"id": _text(form, "id") or "intake"}
    patient = {k: v for k, v in (("age", _number(_text(form, "age"))), ("sex", _text(form, "sex"))) if v != ""}
    if _text(form, "frail"):
        patient["frail"] = True
    if patient:
        data["patient"] = patient
    rows: dict[str, list[int]] = {}
    diagnoses = []
    for row, values in _rows(form, "diagnoses", DIAGNOSIS_FIELDS):
        term = values["condition"]
        entry: dict[str, Any] = {"icd10": term.upper()} if is_code_shaped(term) else {"condition": _ident(term)}
        for name in ("side", "acuity", "severity", "area"):
            if values[name]:
                entry[name] = values[name]
        if values["onset_days"]:
            entry["onset_days"] = _number(values["onset_days"])
        if not term:
            entry.pop("condition", None)
        diagnoses.append(entry)
        rows.setdefault("diagnoses", []).append(row)
    data["diagnoses"] = diagnoses
    findings = []
    for row, values in _rows(form, "findings", FINDING_FIELDS):
        entry = {"finding": _ident(values["finding"])} if values["finding"] else {}
        if values["site"]:
            site = _ident(values["site"])
            entry["area" if site in areas else "target"] = site
        if values["side"]:
            entry["side"] = values["side"]
        findings.append(entry)
        rows.setdefault("findings", []).append(row)
    if findings:
        data["findings"] = findings
    history = []
    for row, values in _rows(form, "history", HISTORY_FIELDS):
        item = values["item"]
        entry = {"icd10": item.upper()} if is_code_shaped(item) else {"item": _ident(item)} if item else {}
        for name in ("area", "side"):
            if values[name]:
                entry[name] = values[name]
        for name in ("days_since", "weeks"):
            if values[name]:
                entry[name] = _number(values[name])
        for name in ("high_risk", "fragility_fracture", "decompensated"):
            if values.get(name):
                entry[name] = True
        if values.get("inactive"):
            entry["active"] = False
        history.append(entry)
        rows.setdefault("history", []).append(row)
    if history:
        data["history"] = history
    medications = [m.strip() for m in re.split(r"[,;\n]", _text(form, "medications")) if m.strip()]
    if medications:
        data["medications"] = medications
    labs = {k: _number(_text(form, k)) for k in ("platelets_k",) if _text(form, k)}
    if labs:
        data["labs"] = labs
    vitals = {k: _number(_text(form, k)) for k in ("temperature_c", "systolic", "diastolic") if _text(form, k)}
    if vitals:
        data["vitals"] = vitals
    clearances = _list(form, "clearances")
    if clearances:
        data["clearances"] = clearances
    prescription: dict[str, Any] = {k: _number(_text(form, k))
                                    for k in ("max_minutes", "sessions_per_week", "weeks") if _text(form, k)}
    prescription.update({k: _list(form, k) for k in PRESCRIPTION_LISTS if _list(form, k)})
    if prescription:
        data["prescription"] = prescription
    return data, rows


def field_of(path: str, rows: Mapping[str, list[int]]) -> str | None:
    """The form field a problem's field path names, or None (the problem is shown above the form)."""
    match = _PATH.match(path)
    if match is None:
        return None
    section, index, field = match["section"], match["index"], match["field"]
    if section in ROWS and index is None:
        return section   # about the list as a whole: shown at the top of its group
    if section in ROWS and index is not None:
        entries = rows.get(section, [])
        if int(index) >= len(entries):
            return None
        row = entries[int(index)]
        field = {"icd10": "condition" if section == "diagnoses" else "item", "target": "site",
                 "area": "site" if section == "findings" else "area", "active": "inactive"}.get(field or "", field)
        if section == "diagnoses" and field is None:
            field = "condition"
        return f"{section}-{row}-{field}" if field else None
    if section in ("patient", "labs", "vitals", "prescription") and field is not None:
        return field
    if section in ("id", "medications", "clearances") and index is None or section in ("medications", "clearances"):
        return section
    return None
