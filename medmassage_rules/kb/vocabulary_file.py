"""Reading ``vocabulary.yaml``: its shape checked section by section, then its cross-references.

Every problem is a :class:`~medmassage_rules.errors.Problem` naming the file, the path
(``modalities.swedish``, ``conditions[3]``) and, where it helps, the value; any problem
raises them all in one :class:`~medmassage_rules.errors.RuleDefinitionError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import CaseError, Problem, RuleDefinitionError, huge_numbers, shown
from ..files.reading import parse_yaml, read_text
from .vocabulary import Modality, Vocabulary

VOCABULARY_LIMIT = 4 * 1024 * 1024  # bytes

ID_LISTS = ("pressures", "sides", "acuities", "severities", "statuses", "area_groups", "conditions", "findings",
            "history", "medication_classes", "referral_urgencies")
ID_MAPS = ("targets", "endangerment_sites", "medications")             # id -> id
TEXT_MAPS = ("benefits", "referrals", "clearances")                   # id -> words
SPEC_MAPS = ("modalities", "mechanisms", "areas")                     # id -> mapping
REQUIRED = ("pressures", "sides", "acuities", "severities", "statuses", "modalities", "mechanisms", "benefits",
            "area_groups", "areas", "targets", "endangerment_sites", "conditions", "findings", "history",
            "medication_classes", "medications", "referrals", "referral_urgencies", "clearances")
OPTIONAL_LISTS = ("tissues", "axial_areas", "indicator_findings", "spinal_conditions", "headache_conditions",
                  "soft_tissue_injuries")
OPTIONAL_ID_MAPS = ("target_tissues", "area_tissues", "approach_areas")
OPTIONAL_TEXT_MAPS = ("labels",)
MAPPINGS = (*ID_MAPS, *TEXT_MAPS, *SPEC_MAPS, *OPTIONAL_ID_MAPS, *OPTIONAL_TEXT_MAPS)


def _shape(data: dict[str, Any], source: str) -> Iterator[Problem]:
    """Problems of shape: sections of the wrong type, ids that are not text, entries that are not specs."""
    def problem(path: str, code: str, message: str, value: object = ...) -> Problem:
        return Problem(source, path, code, message) if value is ... else Problem(source, path, code, message, value)

    present = [key for key in (*REQUIRED, *OPTIONAL_LISTS, *OPTIONAL_ID_MAPS, *OPTIONAL_TEXT_MAPS)
               if data.get(key) is not None or key in REQUIRED]
    for key in dict.fromkeys(present):
        value = data[key]
        if key in MAPPINGS:
            if not isinstance(value, dict):
                yield problem(key, "not_a_mapping", f"a mapping, not {type(value).__name__}")
                continue
            for ident, entry in value.items():
                if not isinstance(ident, str):
                    yield problem(key, "not_an_id", "an id is text", ident)
                    continue
                where = f"{key}.{ident}"
                if key in (*ID_MAPS, *OPTIONAL_ID_MAPS) and not isinstance(entry, str):
                    yield problem(where, "not_an_id", "an id is text", entry)
                elif key in (*TEXT_MAPS, *OPTIONAL_TEXT_MAPS) and not isinstance(entry, str):
                    yield problem(where, "not_text", "words, not a structure", entry)
                elif key in SPEC_MAPS:
                    yield from _spec(key, where, entry, problem)
        elif not isinstance(value, list):
            yield problem(key, "not_a_list", f"a list, not {type(value).__name__}")
        else:
            yield from (problem(f"{key}[{i}]", "not_an_id", "an id is text", item)
                        for i, item in enumerate(value) if not isinstance(item, str))


def _spec(key: str, where: str, entry: Any, problem: Any) -> Iterator[Problem]:
    spec = entry if isinstance(entry, dict) else {}
    if key == "modalities":
        pressure, applies = spec.get("pressure"), spec.get("applies_to", [])
        if not isinstance(entry, dict) or not isinstance(pressure, list) or len(pressure) != 2 \
                or "label" not in spec:
            yield problem(where, "not_a_modality", "a mapping with label and pressure: [lowest, highest]")
        elif not all(isinstance(x, str) for x in pressure) or not isinstance(spec["label"], str):
            yield problem(where, "not_a_modality", "label is words and pressure two pressure ids", entry)
        elif not isinstance(applies, list) or not all(isinstance(x, str) for x in applies):
            yield problem(f"{where}.applies_to", "not_a_list", "a list of tissue ids", applies)
    elif key == "areas":
        if not isinstance(entry, dict) or "group" not in spec:
            yield problem(where, "not_an_area", "a mapping with group")
        elif not isinstance(spec["group"], str):
            yield problem(f"{where}.group", "not_an_id", "an id is text", spec["group"])
    elif not isinstance(entry, dict) or not isinstance(spec.get("label"), str):
        yield problem(where, "not_a_mechanism", "a mapping with label")


def _tissues(data: dict[str, Any]) -> tuple[str, ...]:
    return ("muscle",) if data.get("tissues") is None else tuple(data["tissues"])


def _references(data: dict[str, Any], source: str) -> Iterator[Problem]:
    """Problems of cross-reference: a pressure, area, tissue, class or condition that is not in its section."""
    pressures = tuple(data["pressures"])
    tissues = _tissues(data)
    for ident, spec in data["modalities"].items():
        low, high = spec["pressure"]
        if low not in pressures or high not in pressures or pressures.index(low) > pressures.index(high):
            yield Problem(source, f"modalities.{ident}", "bad_pressure_range",
                          f"bad pressure range {shown(spec['pressure'])}")
        yield from (Problem(source, f"modalities.{ident}.applies_to", "unknown_id", f"unknown tissue {shown(t)}")
                    for t in spec.get("applies_to", ()) if t not in tissues)
    areas = {a: s["group"] for a, s in data["areas"].items()}
    for ident, area in data["targets"].items():
        if area not in areas:
            yield Problem(source, f"targets.{ident}", "unknown_id", f"unknown area {shown(area)}")
    for ident, group in areas.items():
        if group not in data["area_groups"]:
            yield Problem(source, f"areas.{ident}", "unknown_id", f"unknown area group {shown(group)}")
    for name, cls in data["medications"].items():
        if cls not in data["medication_classes"]:
            yield Problem(source, f"medications.{name}", "unknown_class", f"unknown class {shown(cls)}")
    for section, known in (("target_tissues", data["targets"]), ("area_tissues", areas)):
        for ident, tissue in (data.get(section) or {}).items():
            if ident not in known:
                yield Problem(source, f"{section}.{ident}", "unknown_id", "unknown id")
            if tissue not in tissues:
                yield Problem(source, f"{section}.{ident}", "unknown_id", f"unknown tissue {shown(tissue)}")
    yield from (Problem(source, "axial_areas", "unknown_id", f"unknown area {shown(a)}")
                for a in data.get("axial_areas") or () if a not in areas)
    for target, area in (data.get("approach_areas") or {}).items():
        if target not in data["targets"] or area not in areas:
            yield Problem(source, f"approach_areas.{target}", "unknown_id", "unknown target or area")
    for section in ("spinal_conditions", "headache_conditions", "soft_tissue_injuries"):
        yield from (Problem(source, section, "unknown_id", f"unknown condition {shown(c)}")
                    for c in data.get(section) or () if c not in data["conditions"])


def iter_vocabulary_problems(data: Any, source: str) -> Iterator[Problem]:
    """Every problem of a parsed vocabulary; cross-references are checked only once the shape holds."""
    if not isinstance(data, dict):
        yield Problem(source, "", "not_a_mapping", "the vocabulary must be a mapping")
        return
    huge = huge_numbers(data)
    if huge:
        yield from (Problem(source, path, "too_large_number", "a number too large", n) for path, n in huge)
        return
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        yield Problem(source, "", "missing_field", f"vocabulary lacks {', '.join(missing)}")
        return
    shape = list(_shape(data, source))
    if shape:
        yield from shape
        return
    yield from _references(data, source)


def _read(path: Path) -> Any:
    source = str(path)
    try:
        return parse_yaml(read_text(path, VOCABULARY_LIMIT))
    except CaseError as exc:
        code = exc.problems[0].code if exc.problems else "unreadable"
        raise RuleDefinitionError([Problem(source, "", code, f"cannot load vocabulary: {exc}")]) from None
    except Exception as exc:  # any other parse failure of a knowledge-base file
        raise RuleDefinitionError([Problem(source, "", "invalid_yaml", f"cannot load vocabulary: {exc}")]) from None


def load_vocabulary(path: Path) -> Vocabulary:
    """Load and check ``vocabulary.yaml``; problems raise RuleDefinitionError."""
    data = _read(path)
    problems = list(iter_vocabulary_problems(data, str(path)))
    if problems:
        raise RuleDefinitionError(problems)
    findings = tuple(data["findings"])
    return Vocabulary(
        pressures=tuple(data["pressures"]),
        sides=tuple(data["sides"]),
        acuities=tuple(data["acuities"]),
        severities=tuple(data["severities"]),
        statuses=tuple(data["statuses"]),
        modalities={ident: Modality(ident, spec["label"], spec["pressure"][0], spec["pressure"][1],
                                    tuple(spec.get("applies_to", ()))) for ident, spec in data["modalities"].items()},
        mechanisms=dict(data["mechanisms"]),
        benefits=dict(data["benefits"]),
        area_groups=tuple(data["area_groups"]),
        areas={a: s["group"] for a, s in data["areas"].items()},
        targets=dict(data["targets"]),
        endangerment_sites=dict(data["endangerment_sites"]),
        conditions=tuple(data["conditions"]),
        findings=findings,
        indicator_findings=tuple(findings if data.get("indicator_findings") is None else data["indicator_findings"]),
        history=tuple(data["history"]),
        medication_classes=tuple(data["medication_classes"]),
        medications=dict(data["medications"]),
        referrals=dict(data["referrals"]),
        referral_urgencies=tuple(data["referral_urgencies"]),
        clearances=dict(data["clearances"]),
        labels=dict(data.get("labels") or {}),
        tissues=_tissues(data),
        target_tissues=dict(data.get("target_tissues") or {}),
        area_tissues=dict(data.get("area_tissues") or {}),
        axial_areas=frozenset(data.get("axial_areas") or ()),
        approach_areas=dict(data.get("approach_areas") or {}),
        spinal_conditions=frozenset(data.get("spinal_conditions") or ()),
        headache_conditions=frozenset(data.get("headache_conditions") or ()),
        soft_tissue_injuries=frozenset(data.get("soft_tissue_injuries") or ()),
    )
