"""A leg swollen on one side (or with no side) that nothing explains, and a known clot in an arm vein.

rules/leg-swelling.yaml: an unexplained one-sided or side-less edema finding at the thigh, knee, lower
leg or ankle and foot may be a deep vein thrombosis - the plan says that a new swelling needs a
same-day assessment first (NICE NG158 1.1.1-1.1.2; an action advisory, unless a clearance was given for
the edema), and a swollen leg area never takes deep work. The recorded `edema` stays treatable, as the
specification's pregnancy, heart-failure and lymphedema rows treat it; a new swollen calf is
`unilateral_calf_swelling`, an emergency. A known clot of an arm, axillary, subclavian or jugular vein
keeps work off the chest and neck of its side.
"""

from __future__ import annotations

from typing import Any

import pytest

from medmassage_rules.planning.results import PlanResult

from ..strategies import V, plan

PF = {"condition": "plantar_fasciitis", "acuity": "chronic", "side": "right"}
LBP = {"condition": "low_back_pain", "acuity": "chronic"}
LEG_AREAS = ["thigh", "knee", "lower_leg", "ankle_foot"]


def case(*diagnoses: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"id": "t", "patient": {"age": 45}, "diagnoses": list(diagnoses) or [LBP], **rest}


def edema(area: str, side: str | None = None) -> dict[str, Any]:
    return {"finding": "edema", "area": area, **({"side": side} if side else {})}


def referral(result: PlanResult) -> set[tuple[str, str]]:
    return {(r.to, r.urgency) for r in result.plan.referrals}


def because(result: PlanResult) -> set[str]:
    return set(result.plan.status_because)


def leg_rule_fired(result: PlanResult) -> bool:
    return any(f.rule_id.startswith("leg-swelling-unexplained-") for f in result.trace)


def work(result: PlanResult) -> set[tuple[str, str, str | None, str]]:
    """(area, modality, side, pressure) of every delivered piece of work."""
    return {(V.area_of(w.target), w.modality, w.side, w.pressure) for s in result.plan.segments for w in s.work}


def is_flagged(result: PlanResult) -> bool:
    """The row fired: the plan says to exclude a clot first, as an action, and keeps the swelling light."""
    kinds = dict(zip(result.plan.advisories, result.plan.advisory_kinds, strict=True))
    advice = [a for a in kinds if "a deep vein thrombosis must be excluded the same day" in a]
    return leg_rule_fired(result) and bool(advice) and all(kinds[a] == "action" for a in advice)


def swollen_work_is_light(result: PlanResult, area: str, side: str | None) -> bool:
    return all(w[3] == "light" for w in work(result)
               if w[0] == area and (side is None or w[2] in (side, "bilateral", None)))


# -- the row fires ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("area", LEG_AREAS)
@pytest.mark.parametrize("side", ["left", "right", None])
def test_unexplained_one_sided_or_side_less_leg_swelling_says_to_exclude_a_clot_first(area: str,
                                                                                      side: str | None) -> None:
    r = plan(case(findings=[edema(area, side)]))
    assert is_flagged(r)
    assert r.plan.status not in ("refer_urgent", "refer")      # a recorded edema is not an emergency row
    assert swollen_work_is_light(r, area, side)


def test_a_deep_request_on_the_swollen_calf_is_not_delivered() -> None:
    left_pf = {**PF, "side": "left"}
    r = plan(case(left_pf, findings=[edema("lower_leg", "left")], prescription={"modalities": ["deep_tissue"]}))
    assert is_flagged(r) and r.plan.treats
    assert {w for w in work(r) if w[0] == "lower_leg"} and swollen_work_is_light(r, "lower_leg", "left")


@pytest.mark.parametrize("history", [
    [{"item": "heart_failure"}],
    [{"item": "renal_failure"}],
    [{"item": "pregnancy", "weeks": 30}],
    [{"item": "recent_surgery", "area": "lower_leg", "side": "right", "days_since": 10}],
    [{"item": "recent_surgery", "area": "hip_gluteal", "side": "left", "days_since": 20}],
    [{"item": "recent_fracture", "area": "ankle_foot", "side": "left"}],
    [{"item": "recent_fracture", "area": "ankle_foot", "side": "left", "days_since": 80}],
    [{"item": "recent_surgery", "days_since": 10}],
    [{"item": "known_dvt", "area": "lower_leg", "side": "right"}],
], ids=["heart failure", "renal failure", "pregnancy", "surgery of the other leg",
        "hip replacement of that leg, day 20 (a Wells criterion)", "ankle fracture of that leg", "fracture 80 days ago",
        "surgery without a site", "clot in the other leg"])
def test_what_does_not_explain_a_swollen_left_calf(history: list[dict[str, Any]]) -> None:
    r = plan(case(findings=[edema("lower_leg", "left")], history=history, clearances=["physician", "cardiology"]))
    assert is_flagged(r)


@pytest.mark.parametrize("diagnosis", [
    {"condition": "lymphedema", "area": "lower_leg", "side": "right", "acuity": "chronic"},
    {"condition": "ankle_sprain", "side": "right", "acuity": "subacute"},
    {"condition": "knee_osteoarthritis", "side": "right", "acuity": "chronic"},
    {"condition": "delayed_onset_muscle_soreness", "acuity": "acute"},
], ids=["lymphedema of the other leg", "sprain of the other ankle", "osteoarthritis of the other knee", "soreness"])
def test_a_cause_on_the_other_leg_or_another_kind_explains_nothing(diagnosis: dict[str, Any]) -> None:
    area = {"ankle_sprain": "ankle_foot", "knee_osteoarthritis": "knee"}.get(diagnosis["condition"], "lower_leg")
    r = plan(case(diagnosis, findings=[edema(area, "left")]))
    assert is_flagged(r)


def test_side_less_swelling_is_not_explained_by_a_one_sided_cause() -> None:
    r = plan(case({"condition": "ankle_sprain", "side": "right", "acuity": "subacute"}, findings=[edema("ankle_foot")]))
    assert is_flagged(r)


@pytest.mark.parametrize("clearances", [["physician"], ["vascular"], [{"id": "physician", "for": "dyspnea"}],
                                        [{"id": "physician", "for": "joint"}]])
def test_a_bare_clearance_or_one_for_something_else_does_not_lift_it(clearances: list[Any]) -> None:
    r = plan(case(findings=[edema("lower_leg", "left")], clearances=clearances))
    assert is_flagged(r)


# -- the row does not fire ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("diagnoses", "finding", "history"), [
    ([{"condition": "lymphedema", "area": "lower_leg", "side": "left", "acuity": "chronic"}],
     edema("ankle_foot", "left"), []),
    ([{"condition": "lymphedema", "area": "thigh", "side": "bilateral", "acuity": "chronic"}], edema("lower_leg"), []),
    ([{"condition": "post_surgical_edema", "area": "knee", "side": "left", "acuity": "subacute"}],
     edema("lower_leg", "left"), []),
    ([{"condition": "ankle_sprain", "side": "left", "acuity": "subacute"}], edema("ankle_foot", "left"), []),
    ([{"condition": "hamstring_strain", "side": "left", "acuity": "subacute"}], edema("thigh", "left"), []),
    ([{"condition": "knee_osteoarthritis", "side": "right", "acuity": "chronic"}], edema("knee", "right"), []),
    ([LBP], edema("lower_leg", "left"), [{"item": "known_dvt", "area": "lower_leg", "side": "left"}]),
    ([LBP], edema("lower_leg", "left"), [{"item": "known_dvt"}]),
], ids=["lymphedema of that leg", "bilateral lymphedema, side-less swelling", "post-surgical edema of that leg",
        "subacute sprain of that ankle", "strain of that thigh",
        "osteoarthritis of that knee", "known clot of that leg", "known clot without a site"])
def test_explained_swelling_is_not_this_row(diagnoses: list[dict[str, Any]], finding: dict[str, Any],
                                            history: list[dict[str, Any]]) -> None:
    r = plan(case(*diagnoses, findings=[finding], history=history, clearances=["physician", "surgeon"]))
    assert not leg_rule_fired(r), r.plan.status_because


@pytest.mark.parametrize("finding", [edema("lower_leg", "bilateral"), edema("ankle_foot", "bilateral"),
                                     edema("forearm", "left"), edema("hip_gluteal", "left"), {"finding": "edema"}])
def test_bilateral_arm_hip_or_site_less_swelling_is_not_this_row(finding: dict[str, Any]) -> None:
    r = plan(case(findings=[finding]))
    assert not leg_rule_fired(r)


@pytest.mark.parametrize("clearance", [{"id": "vascular", "for": "edema"}, {"id": "physician", "for": "edema"}])
@pytest.mark.parametrize("side", ["left", None])
def test_a_clearance_for_the_edema_lifts_it_but_the_swelling_takes_no_deep_work(clearance: dict[str, str],
                                                                               side: str | None) -> None:
    r = plan(case(findings=[edema("lower_leg", side)], clearances=[clearance],
                  prescription={"modalities": ["deep_tissue"]}))
    assert r.plan.treats and not leg_rule_fired(r)
    assert not {w for w in work(r) if w[0] == "lower_leg" and w[3] != "light"}
    assert any(c.area == "lower_leg" and c.pressure == "light" for c in r.plan.caps if hasattr(c, "area"))


def test_a_cleared_swollen_calf_with_muscle_soreness_takes_no_deep_work_either() -> None:
    r = plan(case({"condition": "delayed_onset_muscle_soreness", "acuity": "subacute", "side": "left"},
                  findings=[edema("lower_leg", "left")], clearances=[{"id": "vascular", "for": "edema"}],
                  prescription={"modalities": ["deep_tissue"]}))
    assert not {w for w in work(r) if w[0] == "lower_leg" and w[2] in ("left", None) and w[3] != "light"}


@pytest.mark.parametrize("finding", [{"finding": "dyspnea"}, {"finding": "unilateral_calf_swelling"}])
def test_the_emergency_rows_own_a_swollen_leg_with_breathlessness_or_calf_swelling(finding: dict[str, str]) -> None:
    r = plan(case(findings=[edema("lower_leg", "left"), finding]))
    assert r.plan.status == "refer_urgent" and ("emergency_care", "urgent") in referral(r)
    assert not leg_rule_fired(r)


def test_a_hot_swollen_knee_is_the_hot_joint_row_s() -> None:
    hot = [{"finding": "local_inflammation", "area": "knee", "side": "right"}, edema("knee", "right")]
    r = plan(case(findings=hot))
    assert r.plan.status == "refer_urgent" and not leg_rule_fired(r)
    assert any(b.startswith("red-hot-swollen-joint-knee") for b in because(r))
    cleared = plan(case(findings=hot, clearances=[{"id": "physician", "for": "joint"}]))
    assert not leg_rule_fired(cleared)


# -- a known clot in an arm vein ------------------------------------------------------------------------------
def blocked(result: PlanResult) -> set[tuple[str, str | None]]:
    return {(b.id, b.side) for b in result.plan.blocked_areas}


ANTERIOR_NECK = ("scalenes", "sternocleidomastoid")


def target_work(result: PlanResult) -> set[tuple[str, str | None]]:
    """(target, side) of every delivered piece of work."""
    return {(w.target, w.side) for s in result.plan.segments for w in s.work}


@pytest.mark.parametrize("area", ["shoulder", "axilla", "upper_arm", "forearm", "wrist_hand", "chest", "neck"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_an_arm_clot_blocks_the_chest_and_front_of_the_neck_of_its_side(area: str, side: str) -> None:
    other = {"left": "right", "right": "left"}[side]
    r = plan(case({"condition": "upper_crossed_syndrome", "acuity": "chronic"},
                  history=[{"item": "known_dvt", "area": area, "side": side}], clearances=["physician"]))
    areas = blocked(r)
    assert ("chest", side) in areas or ("chest", None) in areas
    assert ("chest", other) not in areas
    assert not {w for w in work(r) if w[0] == "chest" and w[2] in (side, None)}
    worked = target_work(r)
    assert not {(t, s) for t, s in worked if t in ANTERIOR_NECK and s in (side, "bilateral", None)}
    assert {(t, s) for t, s in worked if t in ANTERIOR_NECK and s == other} or area == "neck"


def test_the_back_of_the_neck_stays_free_of_an_arm_clot() -> None:
    """v1's known_dvt row blocks the limb's group; the posterior neck is far from the veins."""
    r = plan(case({"condition": "neck_pain", "acuity": "chronic"},
                  history=[{"item": "known_dvt", "area": "upper_arm", "side": "left"}], clearances=["physician"]))
    assert {"upper_trapezius", "cervical_paraspinals"} <= {t for t, _ in target_work(r)}


def test_the_other_side_of_the_chest_stays_free() -> None:
    r = plan(case({"condition": "upper_crossed_syndrome", "acuity": "chronic"},
                  history=[{"item": "known_dvt", "area": "upper_arm", "side": "left"}], clearances=["physician"]))
    assert ("chest", "right") in {(w[0], w[2]) for w in work(r)}


def test_the_coded_right_arm_clot_of_the_red_team_leaves_nothing_to_treat() -> None:
    r = plan(case({"condition": "carpal_tunnel_syndrome", "acuity": "chronic", "side": "right"},
                  history=[{"icd10": "I82.621"}], clearances=["physician"]))
    assert r.plan.status == "defer" and "known-dvt-arm-chest-neck" in because(r)


def test_an_arm_clot_without_a_side_blocks_both_sides_of_the_chest() -> None:
    r = plan(case({"condition": "upper_crossed_syndrome", "acuity": "chronic"},
                  history=[{"item": "known_dvt", "area": "axilla"}], clearances=["physician"]))
    assert not {w for w in work(r) if w[0] == "chest"}
    assert not {t for t, _ in target_work(r) if t in ANTERIOR_NECK}


def test_a_leg_clot_leaves_the_chest_and_neck_alone() -> None:
    r = plan(case({"condition": "neck_pain", "acuity": "chronic"},
                  history=[{"item": "known_dvt", "area": "lower_leg", "side": "left"}], clearances=["physician"]))
    assert "neck" in {w[0] for w in work(r)}
    assert not any(a in ("chest", "neck") for a, _ in blocked(r))
