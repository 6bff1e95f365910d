"""Safety properties of clinical-v2.1 §2.5, §3.2 and §4, whatever else a generated case holds:
no other modality on an edematous area while drainage is blocked; nothing above moderate pressure
with an opioid or a gabapentinoid; an intraoral target never planned; sternocleidomastoid and the
scalenes never above moderate."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmassage_rules.intake.medications import load_drugs
from medmassage_rules.planning.results import PlanResult

from ..strategies import KB, V, areas, case_dicts, modalities, planned, sides, targets

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BOTH = frozenset({"left", "right"})
DRAINAGE = "manual_lymphatic_drainage"
DRAINAGE_BLOCKERS = ({"item": "heart_failure"}, {"item": "renal_failure"}, {"item": "cellulitis"},
                     {"item": "known_dvt"})
OPIOIDS_AND_GABAPENTINOIDS = sorted(
    {name for name, drug in load_drugs().drugs.items() if {"opioid", "gabapentinoid"} & set(drug.classes)}
    | {name for name, cls in V.medications.items() if cls in ("opioid", "gabapentinoid")} | {"opioid", "gabapentinoid"})


def covered(side: str | None) -> frozenset[str]:
    return BOTH if side in (None, "bilateral") else frozenset({side})



def work_pairs(result: PlanResult) -> list[Any]:
    return [w for s in result.plan.segments for w in s.work]


@st.composite
def edema_findings(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"finding": "edema"}
    where = draw(st.sampled_from(["area", "target", "none"]))
    if where == "area":
        out["area"] = draw(areas)
    elif where == "target":
        out["target"] = draw(targets)
    side = draw(st.none() | sides)
    if side is not None:
        out["side"] = side
    return out


@SETTINGS
@given(case_dicts(), st.lists(edema_findings(), min_size=1, max_size=2), st.sampled_from(DRAINAGE_BLOCKERS))
def test_no_modality_on_an_edematous_area_while_drainage_is_blocked(data, edemas, blocker) -> None:
    data = {**data, "findings": [*data.get("findings", []), *edemas],
            "history": [*data.get("history", []), blocker],
            "clearances": [c for c in data.get("clearances", []) if c not in ("cardiology", "physician")]}
    result = planned(data)
    drainage_blocked = any(f["kind"] == "modality" and f["modality"] == DRAINAGE and f["rule"] not in KB.exclusion_rules
                           for f in result.facts if type(f).__name__ == "Block")
    assert drainage_blocked  # every blocker here blocks drainage, whatever else the case holds
    swollen: list[tuple[str, frozenset[str]]] = []
    for e in edemas:
        site = e.get("target") or e.get("area")
        for area in ([V.area_of(site)] if site else ["lower_leg", "ankle_foot"]):
            swollen.append((area, BOTH if area in V.axial_areas or not site else covered(e.get("side"))))
    for w in work_pairs(result):
        area = V.area_of(w.target)
        for s_area, s_sides in swollen:
            assert not (area == s_area and covered(w.side) & s_sides), (w, s_area, sorted(s_sides))
        assert w.pressure != "deep" or area not in {a for a, _ in swollen}


@SETTINGS
@given(case_dicts(), st.sampled_from(OPIOIDS_AND_GABAPENTINOIDS), st.lists(modalities, max_size=3))
def test_an_opioid_or_gabapentinoid_never_sees_pressure_above_moderate(data, medication, requested) -> None:
    rx = {**data.get("prescription", {}), "modalities": requested}
    data = {**data, "medications": [*data.get("medications", []), medication], "prescription": rx}
    result = planned(data)
    assert V.rank(result.plan.pressure_cap) <= V.rank("moderate")
    assert all(V.rank(m.pressure) <= V.rank("moderate") for m in result.plan.modalities)
    assert all(V.rank(w.pressure) <= V.rank("moderate") for w in work_pairs(result))
    assert "deep_tissue" not in {m.id for m in result.plan.modalities}


@SETTINGS
@given(case_dicts(), st.booleans(), st.none() | sides)
def test_an_intraoral_target_is_never_in_a_plan(data, as_diagnosis, side) -> None:
    extra: dict[str, Any] = ({"diagnoses": [*data["diagnoses"], {"condition": "temporomandibular_disorder",
                                                                  **({"side": side} if side else {})}]}
                             if as_diagnosis else
                             {"findings": [*data.get("findings", []), {"finding": "trigger_point",
                                                                        "target": "lateral_pterygoid"}]})
    result = planned({**data, **extra})
    plan = result.plan
    assert not [t for t in plan.targets if "pterygoid" in t.id]
    assert not [w for w in work_pairs(result) if "pterygoid" in w.target]
    assert not [t for s in plan.segments for t in s.targets if "pterygoid" in t]
    assert not [b for b in (*plan.blocked_areas, *plan.blocked_targets) if "pterygoid" in b.id]


@SETTINGS
@given(case_dicts(), st.sampled_from(["neck_pain", "tension_type_headache", "whiplash_associated_disorder",
                                      "thoracic_outlet_syndrome", "cervicogenic_headache"]),
       st.lists(modalities, max_size=3))
def test_sternocleidomastoid_and_scalenes_are_never_above_moderate(data, condition, requested) -> None:
    rx = {**data.get("prescription", {}), "modalities": requested}
    data = {**data, "diagnoses": [*data["diagnoses"], {"condition": condition, "acuity": "chronic"}],
            "prescription": rx}
    result = planned(data)
    anterior = [w for w in work_pairs(result) if w.target in ("sternocleidomastoid", "scalenes")]
    assert all(V.rank(w.pressure) <= V.rank("moderate") for w in anterior), anterior
    # a target cap is a precaution only when it lowered a pressure there
    lowered = any(t.id in ("sternocleidomastoid", "scalenes") and t.pressure_cap is not None
                  for t in result.plan.targets)
    if lowered:
        assert result.plan.status == "treat_with_precautions"


@SETTINGS
@given(case_dicts(), st.sampled_from(["left", "right"]),
       st.sampled_from(["thoracic_pain", "scoliosis_back_pain", "post_mastectomy_pain", "upper_crossed_syndrome"]))
def test_axillary_node_removal_keeps_that_sides_upper_back_light(data, side, condition) -> None:
    data = {**data, "diagnoses": [*data["diagnoses"], {"condition": condition, "acuity": "chronic"}],
            "history": [*data.get("history", []), {"item": "lymph_node_removal", "area": "axilla", "side": side}]}
    result = planned(data)
    for w in work_pairs(result):
        if V.area_of(w.target) == "upper_back" and side in covered(w.side):
            assert w.pressure == "light", w  # a one-sided target cap: that side's entry, light
    per_side = {(t.id, t.side) for t in result.plan.targets}
    assert len(per_side) == len(result.plan.targets)
