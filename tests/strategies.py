"""Hypothesis strategies: valid case files built from the shipped vocabulary.

``case_dicts()`` draws the plain data of a case file (what a user would write), always
valid by contract §1: lymphedema and post_surgical_edema carry their area, a
trigger_point finding carries a target, and a finding gives a target or an area, never
both (so the two cannot disagree). Red flags and other no-treatment facts are drawn
rarely, so that most cases can be treated and the treatable plans get tested too.
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from medmassage_rules.cases.loading import validate_case
from medmassage_rules.cases.models import FEMALE_ONLY_CONDITIONS, FEMALE_ONLY_HISTORY, NEEDS_AREA, Case
from medmassage_rules.errors import CaseError
from medmassage_rules.kb.loading import load_knowledge_base
from medmassage_rules.planning.pipeline import plan_case
from medmassage_rules.planning.results import PlanResult

KB = load_knowledge_base()
V = KB.vocabulary

RED_FLAG_FINDINGS = tuple(f for f in V.findings if f not in V.indicator_findings)
# History items that stop treatment (BLOCK_ALL) or gate it on a clearance.
SERIOUS_HISTORY = ("suspected_dvt", "known_dvt", "acute_infection", "malignancy", "contagious_skin_condition",
                   "uncontrolled_hypertension", "recent_myocardial_infarction", "unstable_angina",
                   "renal_failure")
OTHER_HISTORY = tuple(h for h in V.history if h not in SERIOUS_HISTORY)
MEDICATIONS = tuple(sorted({*V.medications, *V.medication_classes}))
SITES = tuple(sorted({*V.targets, *V.areas}))


def rarely(strategy: st.SearchStrategy[Any], otherwise: Any, one_in: int = 6) -> st.SearchStrategy[Any]:
    """``strategy`` about once in ``one_in`` draws, else the value ``otherwise``.

    The rare branch is the largest integer: hypothesis favours the smallest one, and
    shrinking towards it drops the rare part from a failing example.
    """
    return st.integers(1, one_in).flatmap(lambda n: strategy if n == one_in else st.just(otherwise))


def around(values: list[float]) -> st.SearchStrategy[float]:
    """One of ``values`` (thresholds and typical values, drawn evenly), or any number near them."""
    low, high = min(values), max(values)
    numbers = st.floats(low, high, allow_nan=False) if any(isinstance(x, float) for x in values) \
        else st.integers(int(low), int(high))
    return st.sampled_from(values) | numbers


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _without_none(draw_map: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in draw_map.items() if v is not None}


sides = st.sampled_from(V.sides)
areas = st.sampled_from(tuple(V.areas))
targets = st.sampled_from(tuple(V.targets))
modalities = st.sampled_from(tuple(V.modalities))


@st.composite
def diagnoses(draw: st.DrawFn) -> dict[str, Any]:
    condition = draw(st.sampled_from(V.conditions))
    area = draw(areas) if condition in NEEDS_AREA else draw(rarely(areas, None, 4))
    return _without_none({
        "condition": condition, "side": draw(maybe(sides)), "acuity": draw(maybe(st.sampled_from(V.acuities))),
        "onset_days": draw(maybe(st.integers(0, 800))), "severity": draw(maybe(st.sampled_from(V.severities))),
        "area": area,
    })


@st.composite
def findings(draw: st.DrawFn, names: st.SearchStrategy[str]) -> dict[str, Any]:
    finding = draw(names)
    out: dict[str, Any] = {"finding": finding}
    where = "target" if finding == "trigger_point" else draw(st.sampled_from(["target", "area", "none"]))
    if where == "target":
        out["target"] = draw(targets | areas)  # an area id may stand for the whole area
    elif where == "area":
        out["area"] = draw(areas)
    side = draw(maybe(sides))
    if side is not None:
        out["side"] = side
    return out


@st.composite
def history_items(draw: st.DrawFn, names: st.SearchStrategy[str]) -> dict[str, Any]:
    item = draw(names)
    return _without_none({
        "item": item, "area": draw(maybe(areas)), "side": draw(maybe(sides)),
        "fragility_fracture": draw(maybe(st.booleans())), "active": draw(maybe(st.booleans())),
        "days_since": draw(maybe(st.integers(0, 400))), "weeks": draw(maybe(st.integers(0, 45))),
        "high_risk": draw(maybe(st.booleans())), "decompensated": draw(maybe(st.booleans())),
    })


@st.composite
def case_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """The data of one valid case file."""
    case: dict[str, Any] = {"id": "gen", "diagnoses": draw(st.lists(diagnoses(), min_size=1, max_size=3))}
    patient = _without_none({"age": draw(maybe(st.integers(0, 120))), "frail": draw(rarely(st.booleans(), None)),
                             "sex": draw(maybe(st.sampled_from(["female", "male"])))})
    if patient:
        case["patient"] = patient
    found = draw(st.lists(findings(st.sampled_from(V.indicator_findings)), max_size=3))
    found += draw(rarely(st.lists(findings(st.sampled_from(RED_FLAG_FINDINGS)), min_size=1, max_size=2), [], 10))
    history = draw(st.lists(history_items(st.sampled_from(OTHER_HISTORY)), max_size=2))
    history += draw(rarely(st.lists(history_items(st.sampled_from(SERIOUS_HISTORY)), min_size=1, max_size=2), [], 8))
    case["findings"] = draw(st.permutations(found))
    case["history"] = draw(st.permutations(history))
    case["medications"] = draw(st.lists(st.sampled_from(MEDICATIONS), max_size=3))
    platelets = draw(rarely(around([10, 19.9, 20, 35, 49.9, 50, 120, 149.9, 150, 250, 400]), None, 4))
    if platelets is not None:
        case["labs"] = {"platelets_k": platelets}
    vitals = _without_none({
        "temperature_c": draw(rarely(around([36.0, 36.8, 37.5, 37.9, 38.0, 39.5]), None, 4)),
        "systolic": draw(rarely(around([100, 120, 140, 179, 180]), None, 4)),
        "diastolic": draw(rarely(around([60, 80, 95, 109, 110]), None, 4)),
    })
    if vitals:
        case["vitals"] = vitals
    case["clearances"] = draw(st.lists(st.sampled_from(tuple(V.clearances)), max_size=3))
    prescription = _without_none({
        "max_minutes": draw(maybe(st.integers(15, 120))),
        "modalities": draw(st.lists(modalities, max_size=3)),
        "exclude_modalities": draw(rarely(st.lists(modalities, min_size=1, max_size=2), [], 3)),
        "focus_areas": draw(st.lists(areas, max_size=2)),
    })
    case["prescription"] = prescription
    return without_contradiction({k: v for k, v in case.items() if v not in ([], {})})


def without_contradiction(case: dict[str, Any]) -> dict[str, Any]:
    """The case with a male patient made female when it holds a pregnancy, postpartum or pelvic girdle
    pain: contradictory facts are refused as input (clinical-v2.1 §2.8)."""
    female_only = ({h.get("item") for h in case.get("history", [])} & set(FEMALE_ONLY_HISTORY)
                   or {d.get("condition") for d in case["diagnoses"]} & set(FEMALE_ONLY_CONDITIONS))
    patient = case.get("patient", {})
    if female_only and patient.get("sex") == "male":
        return {**case, "patient": {**patient, "sex": "female"}}
    return case


def build(data: dict[str, Any]) -> Case:
    return validate_case(data, "gen", V)


def plan(data: dict[str, Any]) -> PlanResult:
    return plan_case(build(data), KB)


def planned(data: dict[str, Any]) -> PlanResult:
    """The plan of a generated case; a combination the contract refuses (e.g. contradictory facts,
    clinical-v2.1 §2.8) is no example (hypothesis draws another)."""
    try:
        return plan(data)
    except CaseError:
        assume(False)
        raise
